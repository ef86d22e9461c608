package roles

import (
	"os/exec"
	"strings"
	"testing"
)

// harbord goes into every image: it stays small and static, standard library and yaml.v3 only.
func TestHarbordDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/harborbundle/bundle/internal/fakeharbor/cmd/harbord").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"gopkg.in/yaml.v3": true,
		"github.com/harborbundle/bundle/internal/fakeharbor/roles":       true,
		"github.com/harborbundle/bundle/internal/fakeharbor/release":     true,
		"github.com/harborbundle/bundle/internal/fakeharbor/cmd/harbord": true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if !allowed[dep] {
			t.Errorf("harbord depends on %s", dep)
		}
	}
}
