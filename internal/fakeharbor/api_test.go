package fakeharbor

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor/roles"
)

// inProcessHarbor runs harbor-db (with dbArgs), registry and core of version in this process
// over one temporary root, core listening where h.URL points (no proxy: core serves /v2 itself).
func inProcessHarbor(t *testing.T, version, schema string, dbArgs ...string) *Harbor {
	t.Helper()
	root := t.TempDir()
	addrs := map[string]string{}
	for _, r := range []string{"db", "registry", "core"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[r] = ln.Addr().String()
		ln.Close()
	}
	if err := os.MkdirAll(root+"/etc/core", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/etc/core/key", []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	// core sees data_volume/registry at /data/registry, the registry at /storage.
	if err := os.MkdirAll(root+"/data/registry", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root+"/data/registry", root+"/storage"); err != nil {
		t.Fatal(err)
	}
	dbHost, dbPort, _ := strings.Cut(addrs["db"], ":")
	vars := map[string]string{"FAKEHARBOR_ROOT": root, "HARBOR_VERSION": version, "HARBOR_SCHEMA": schema,
		"POSTGRESQL_HOST": dbHost, "POSTGRESQL_PORT": dbPort, "REGISTRY_URL": "http://" + addrs["registry"],
		"FAKEHARBOR_MIGRATION_STEP_MS": "1", "FAKEHARBOR_DB_WAIT_SECONDS": "10"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); wg.Wait() })
	log := &SyncBuffer{}
	for _, r := range []struct {
		role string
		args []string
	}{{"db", dbArgs}, {"registry", nil}, {"core", nil}} {
		env := &roles.Env{Stdin: strings.NewReader(""), Stdout: log, Stderr: log, Stop: stop,
			Getenv: func(k string) string {
				if k == "FAKEHARBOR_LISTEN" {
					return addrs[r.role]
				}
				return vars[k]
			}}
		wg.Add(1)
		go func() { defer wg.Done(); roles.MainWith(env, append([]string{r.role}, r.args...)) }()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if c, err := net.Dial("tcp", addrs[r.role]); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not start\n%s", r.role, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, port, _ := strings.Cut(addrs["core"], ":")
	p, _ := strconv.Atoi(port)
	return &Harbor{Version: version, Port: p}
}

// Seed, CheckSeeded and Counts work against both API generations of the fake core: Seed's
// manifest push makes core record a repository, which Counts then reports with the project.
func TestSeedAndCountsBothGenerations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		version, schema string
		dbArgs          []string
	}{
		{"v1.10.0", "15", nil},
		{"v2.15.2", "180", []string{"15", "18"}},
	} {
		h := inProcessHarbor(t, c.version, c.schema, c.dbArgs...)
		if p, r, err := h.Counts(ctx); err != nil || p != 1 || r != 0 {
			t.Errorf("%s: fresh counts %d %d %v, want library only", c.version, p, r, err)
		}
		s, err := h.Seed(ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.version, err)
		}
		if err := h.CheckSeeded(ctx, s); err != nil {
			t.Errorf("%s: %v", c.version, err)
		}
		if p, r, err := h.Counts(ctx); err != nil || p != 2 || r != 1 {
			t.Errorf("%s: counts after Seed %d %d %v, want 2 1", c.version, p, r, err)
		}
		info, err := h.SystemInfo(ctx)
		if err != nil || !strings.HasPrefix(info.HarborVersion, c.version+"-") {
			t.Errorf("%s: systeminfo %+v %v", c.version, info, err)
		}
		// CheckSeeded fails on data that is not there.
		other := *s
		other.Repository = s.Project + "/other"
		if err := h.CheckSeeded(ctx, &other); err == nil || !strings.Contains(err.Error(), "repository "+other.Repository+" is gone") {
			t.Errorf("%s: CheckSeeded of a missing repository: %v", c.version, err)
		}
	}
}
