package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// libraries are the packages that must stay silent and CLI-free.
var libraries = []string{"builder", "payload", "selfextract", "upgrade", "harbor", "progress", "scandb", "sign", "internal/docker"}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func TestLibrariesDoNotImportCLIPackages(t *testing.T) {
	root := moduleRoot(t)
	for _, lib := range libraries {
		out, err := listCmd(root, lib).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", lib, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "spf13/cobra") || strings.Contains(dep, "schollz/progressbar") {
				t.Errorf("%s depends on %s: libraries report progress through package progress and leave flags to cmd/bundle", lib, dep)
			}
		}
	}
}

func TestOnlyInternalDockerRunsDocker(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || rel == "internal/docker" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if !importsExec(f) {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && (s == "docker" || s == "docker-compose") {
				t.Errorf("%s execs %s: only internal/docker runs the docker CLI", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
}

func importsExec(f *ast.File) bool {
	for _, imp := range f.Imports {
		if imp.Path.Value == `"os/exec"` {
			return true
		}
	}
	return false
}

func listCmd(root, lib string) *exec.Cmd {
	cmd := exec.Command("go", "list", "-deps", "./"+lib+"/...")
	cmd.Dir = root
	return cmd
}
