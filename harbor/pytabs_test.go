package harbor

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// TestPyYAMLTabMatchesPyYAML holds pyYAMLTab to PyYAML itself: tabs put in every kind of place
// of Harbor's real default harbor.yml files (and a few hand-written shapes), and for every
// variant that yaml.v3 reads, pyYAMLTab finds a tab exactly when PyYAML refuses the file.
func TestPyYAMLTabMatchesPyYAML(t *testing.T) {
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, v := range []string{"v1.8.6", "v1.9.4", "v1.10.0"} {
		b, err := os.ReadFile(filepath.Join(root, "installer", v, "harbor.yml"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			if strings.TrimSpace(line) == "" {
				continue
			}
			variant := func(l string) string {
				c := append([]string(nil), lines...)
				c[i] = l
				return strings.Join(c, "\n")
			}
			// Each of the line's first spaces becomes a tab (indentation, after the colon,
			// inside a comment, between words), and a tab goes at its end.
			for j, n := 0, 0; j < len(line) && n < 3; j++ {
				if line[j] == ' ' {
					docs = append(docs, variant(line[:j]+"\t"+line[j+1:]))
					n++
				}
			}
			docs = append(docs, variant(line+"\t"))
		}
	}
	docs = append(docs,
		"hostname: \"a\tb\"\n", "hostname: 'a\tb'\n", "hostname: 'it''s\tx'\n", "hostname: \"a\\\"\tb\"\n",
		"hostname: a\tb\n", "hostname: it's\tx\n", "hostname: x # note\twith a tab\n",
		"hostname: x\ncert: |\n  line\twith tab\n  \tindented\nport: 80\n",
		"hostname: x\ncert: >-\n  a\tb\nport:\t80\n",
		"hostname: x\nlist:\n  - a\n  -\tb\n", "hostname: \"multi\n  line\twith tab\"\nport: 80\n",
		"\t\nhostname: x\n", "hostname: x\n\t# comment\n",
	)
	script := "import sys, json, yaml\nout = []\nfor d in json.load(sys.stdin):\n" +
		"    try:\n        yaml.safe_load(d); out.append(True)\n    except yaml.YAMLError:\n        out.append(False)\n" +
		"json.dump(out, sys.stdout)\n"
	in, _ := json.Marshal(docs)
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("PyYAML: %v", err)
	}
	var pyOK []bool
	if err := json.Unmarshal(out, &pyOK); err != nil || len(pyOK) != len(docs) {
		t.Fatalf("PyYAML's answers: %v (%d for %d)", err, len(pyOK), len(docs))
	}
	compared, refused := 0, 0
	for i, d := range docs {
		if _, err := ParseConfig([]byte(d)); err != nil {
			continue // yaml.v3 refuses it already: preflight says so
		}
		compared++
		line := pyYAMLTab([]byte(d))
		if !pyOK[i] {
			refused++
		}
		if (line == 0) != pyOK[i] {
			t.Errorf("PyYAML reads it: %v, pyYAMLTab says line %d:\n%s", pyOK[i], line, d)
		}
	}
	if compared < 200 || refused < 50 || compared-refused < 50 {
		t.Fatalf("too few cases of each kind: %d compared, %d refused by PyYAML", compared, refused)
	}
	t.Logf("%d files compared, %d refused by PyYAML", compared, refused)
}

func TestCheckForMigratorNamesTheTabLine(t *testing.T) {
	c, err := ParseConfig([]byte("_version: 1.9.0\nhostname: reg.example.test\t# the name\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"1.9.0", "1.10.0"} {
		err := c.CheckForMigrator(target)
		if err == nil || !strings.Contains(err.Error(), "harbor.yml line 2: a tab") {
			t.Errorf("target %s: %v, want the tab on line 2 named", target, err)
		}
	}
}

func TestCheckForPrepareMigrateNamesTheTabLine(t *testing.T) {
	for _, v := range []string{"1.10.0", "2.15.0"} {
		c, err := ParseConfig([]byte("_version: " + v + "\nhostname: reg.example.test\t# the name\n"))
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckForPrepareMigrate("v2.15.2")
		if err == nil || !strings.Contains(err.Error(), "harbor.yml line 2: a tab") {
			t.Errorf("_version %s to v2.15.2: %v, want the tab on line 2 named", v, err)
		}
	}
}
