package harborreal

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// pyTreeProgram prints how PyYAML reads each file: one line per node, its path of repr()'d keys
// and its Python type and repr() (so 80 and '80', None and 'None', True and 'True' differ), or
// the exception's name for a file that does not load.
const pyTreeProgram = `
import sys, json, yaml
def walk(prefix, v, out):
    if isinstance(v, dict):
        out.append(prefix + " dict")
        for k, x in v.items():
            walk(prefix + "." + repr(k), x, out)
    elif isinstance(v, list):
        out.append(prefix + " list")
        for i, x in enumerate(v):
            walk(prefix + "[%d]" % i, x, out)
    else:
        out.append(prefix + " " + type(v).__name__ + " " + repr(v))
res = []
for p in sys.argv[1:]:
    out = []
    try:
        with open(p, 'rb') as f:
            walk("", yaml.safe_load(f), out)
    except Exception as e:
        out = ["error " + type(e).__name__]
    res.append(out)
print(json.dumps(res))
`

// PyYAMLTrees reads each file with PyYAML's safe_load, in one python process, and returns its
// tree as lines (see pyTreeProgram): what Harbor's Python code would see in it, for comparing
// two files by meaning rather than by bytes.
func PyYAMLTrees(files []string) ([][]string, error) {
	py, err := Python()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(py, append([]string{"-c", pyTreeProgram}, files...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("reading the files with PyYAML: %w", err)
	}
	var trees [][]string
	if err := json.Unmarshal(out, &trees); err != nil {
		return nil, err
	}
	if len(trees) != len(files) {
		return nil, fmt.Errorf("PyYAML read %d of %d files", len(trees), len(files))
	}
	return trees, nil
}

// ValueLines are the lines of a YAML file that carry values: neither blank nor comments. Two
// migrators' outputs are compared on these, byte for byte, beside their PyYAML trees.
func ValueLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, l)
		}
	}
	return out
}

// LineDiff lists the lines only in a (-) and only in b (+), for a test failure's message.
func LineDiff(a, b []string) string {
	count := func(l []string) map[string]int {
		m := map[string]int{}
		for _, x := range l {
			m[x]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var d []string
	for _, x := range a {
		if cb[x] == 0 {
			d = append(d, "- "+x)
		}
	}
	for _, x := range b {
		if ca[x] == 0 {
			d = append(d, "+ "+x)
		}
	}
	if len(d) == 0 {
		return "(the same lines in another order)"
	}
	return strings.Join(d, "\n")
}
