package roles

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play harbord, for tests that must kill a role with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("FAKEHARBOR_TEST_AS_HARBORD") == "1" {
		os.Exit(Main(strings.Fields(os.Getenv("FAKEHARBOR_TEST_ARGS"))))
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stack is db, registry and core of one fake install in-process, sharing one root.
type stack struct {
	t                        *testing.T
	root                     string
	dbAddr, regAddr, coreAdr string
	key                      string
}

func newStack(t *testing.T) *stack {
	s := &stack{t: t, root: t.TempDir(), dbAddr: freeAddr(t), regAddr: freeAddr(t), coreAdr: freeAddr(t), key: "0123456789abcdef"}
	s.writeKey(s.key)
	return s
}

func (s *stack) writeKey(key string) {
	if err := os.MkdirAll(s.root+"/etc/core", 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(s.root+coreSecretKey, []byte(key), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// env is a role's environment in the stack.
func (s *stack) env(version, listen string) *testEnv {
	e := newTestEnv(s.t, version)
	e.root = s.root
	e.vars["FAKEHARBOR_LISTEN"] = listen
	e.vars["POSTGRESQL_HOST"], e.vars["POSTGRESQL_PORT"], _ = strings.Cut(s.dbAddr, ":")
	e.vars["REGISTRY_URL"] = "http://" + s.regAddr
	e.vars["FAKEHARBOR_MIGRATION_STEP_MS"] = "5"
	e.vars["QUOTA_SYNC_SECONDS"] = "1"
	e.vars["FAKEHARBOR_DB_WAIT_SECONDS"] = "5"
	return e
}

// running is a server role started in-process.
type running struct {
	e    *testEnv
	stop chan struct{}
	done chan int
}

// start runs a role until the test ends (or stop), and waits until addr answers health.
func (s *stack) start(e *testEnv, role string) *running {
	s.t.Helper()
	return launch(s.t, e, role, role)
}

// launch runs `harbord ARGS...` in-process until the test ends (or stop) and waits until its
// FAKEHARBOR_LISTEN accepts connections or it exits; name is what a failure calls it.
func launch(t *testing.T, e *testEnv, name string, args ...string) *running {
	t.Helper()
	r := &running{e: e, stop: make(chan struct{}), done: make(chan int, 1)}
	go func() { r.done <- MainWith(e.env(r.stop), args) }()
	t.Cleanup(r.shutdown)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-r.done:
			r.done <- code
			return r
		default:
		}
		if c, err := net.Dial("tcp", e.vars["FAKEHARBOR_LISTEN"]); err == nil {
			c.Close()
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not start\n%s", name, e.output())
	return nil
}

func (r *running) shutdown() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
}

// exited returns the exit code if the role has ended.
func (r *running) exited() (int, bool) {
	select {
	case code := <-r.done:
		r.done <- code
		return code, true
	case <-time.After(200 * time.Millisecond):
		return 0, false
	}
}

// core starts db (once) and registry (once), then core of version, and returns core.
func (s *stack) core(version string) *running {
	if c, err := net.Dial("tcp", s.dbAddr); err == nil {
		c.Close()
	} else {
		s.start(s.env(version, s.dbAddr), "db")
		// Both see data_volume/registry: core at /data/registry, registry at /storage.
		os.MkdirAll(s.root+coreData+"/registry", 0o755)
		if err := os.Symlink(s.root+coreData+"/registry", s.root+registryStorage); err != nil {
			s.t.Fatal(err)
		}
		s.start(s.env(version, s.regAddr), "registry")
	}
	return s.start(s.env(version, s.coreAdr), "core")
}

func (s *stack) get(path string, out any) int {
	s.t.Helper()
	resp, err := http.Get("http://" + s.coreAdr + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			s.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) schema() schemaState {
	var st schemaState
	data, err := os.ReadFile(s.root + pgData + "/schema_migrations.json")
	if err == nil {
		json.Unmarshal(data, &st)
	}
	return st
}
