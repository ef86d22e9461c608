package roles

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// testEnv runs roles in-process with a temp dir standing in for the container's filesystem.
type testEnv struct {
	t      *testing.T
	root   string
	vars   map[string]string
	stdin  string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newTestEnv(t *testing.T, version string) *testEnv {
	t.Helper()
	e := &testEnv{t: t, root: t.TempDir(), vars: map[string]string{}}
	e.setVersion(version)
	return e
}

// setVersion sets the variables the release's images carry.
func (e *testEnv) setVersion(version string) {
	cfg := map[string]string{"v1.7.6": "", "v1.8.6": "1.8.0", "v1.9.4": "1.9.0", "v1.10.0": "1.10.0"}
	schema := map[string]string{"v1.7.6": "0", "v1.8.6": "5", "v1.9.4": "12", "v1.10.0": "15"}
	e.vars["HARBOR_VERSION"] = version
	e.vars["HARBOR_CONFIG_VERSION"] = cfg[version]
	e.vars["HARBOR_SCHEMA"] = schema[version]
}

func (e *testEnv) env(stop <-chan struct{}) *Env {
	vars := map[string]string{"FAKEHARBOR_ROOT": e.root}
	for k, v := range e.vars {
		vars[k] = v
	}
	return &Env{
		Getenv: func(k string) string { return vars[k] },
		Stdin:  strings.NewReader(e.stdin),
		Stdout: lockedWriter{&e.mu, &e.stdout},
		Stderr: lockedWriter{&e.mu, &e.stderr},
		Stop:   stop,
	}
}

// run runs harbord with args to completion and returns its exit code.
func (e *testEnv) run(args ...string) int {
	return MainWith(e.env(nil), args)
}

func (e *testEnv) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stdout.String() + e.stderr.String()
}

// path is a container path in the test's root.
func (e *testEnv) path(p string) string { return filepath.Join(e.root, p) }

func (e *testEnv) write(p, data string) {
	e.t.Helper()
	full := e.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) read(p string) string {
	e.t.Helper()
	data, err := os.ReadFile(e.path(p))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// value returns the value at a dotted path of a YAML document.
func value(t *testing.T, data, path string) any {
	t.Helper()
	var cur any
	if err := yaml.Unmarshal([]byte(data), &cur); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
