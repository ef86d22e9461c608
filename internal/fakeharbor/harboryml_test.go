package fakeharbor

import (
	"os"
	"strings"
	"testing"
)

func TestEditRealHarborYML(t *testing.T) {
	for _, v := range []string{"v1.8.0", "v1.9.0", "v1.10.0"} {
		// The real default files, copied into the repository (roles/testdata/README.md).
		src, err := os.ReadFile("roles/testdata/harbor-" + v + ".yml")
		if err != nil {
			t.Fatal(err)
		}
		s := ymlSettings{Hostname: "fakeharbor.test", HTTPPort: 18080, DataVolume: "/tmp/x/data", LogDir: "/tmp/x/log"}
		out, err := editHarborYML(string(src), s)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if !strings.Contains(out, "location: /tmp/x/log") || strings.Contains(out, "\nhttps:") {
			t.Errorf("%s: log location or https not edited", v)
		}
		if strings.Count(out, "\n") != strings.Count(string(src), "\n") {
			t.Errorf("%s: lines added or removed", v)
		}
	}
}
