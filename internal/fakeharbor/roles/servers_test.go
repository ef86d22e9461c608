package roles

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postgres refuses a data directory it does not own: a database restored as root.
func TestDBRefusesWrongOwner(t *testing.T) {
	e := newTestEnv(t, "v1.10.0")
	e.vars["FAKEHARBOR_UID"] = "999"
	os.MkdirAll(e.path(pgData), 0o700)
	if code := e.run("db"); code != exitFail || !strings.Contains(e.output(), "has wrong ownership") {
		t.Errorf("exit %d\n%s", code, e.output())
	}
	// initdb refuses a directory with foreign content.
	e = newTestEnv(t, "v1.10.0")
	e.write(pgData+"/stray", "x")
	if code := e.run("db"); code != exitFail || !strings.Contains(e.output(), "exists but is not empty") {
		t.Errorf("exit %d\n%s", code, e.output())
	}
}

func TestProxyPassesToCore(t *testing.T) {
	s := newStack(t)
	s.core("v1.10.0")
	proxyAddr := freeAddr(t)
	e := s.env("v1.10.0", proxyAddr)
	e.write(nginxConfPath, strings.Replace(nginxConf, "server core:8080;", "server "+s.coreAdr+";", 1))
	s.start(e, "proxy")
	resp, err := http.Get("http://" + proxyAddr + "/api/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Pong" {
		t.Errorf("ping through the proxy: %q", body)
	}
	if code := e.run("health", "proxy"); code != 0 {
		t.Errorf("health proxy: exit %d", code)
	}
}

func TestSimpleRolesAnswerHealth(t *testing.T) {
	for _, role := range []string{"portal", "redis", "chartmuseum", "log", "clair"} {
		s := newStack(t)
		addr := freeAddr(t)
		e := s.env("v1.10.0", addr)
		os.MkdirAll(s.root+"/chart_storage", 0o755)
		s.start(e, role)
		if code := e.run("health", role); code != 0 {
			t.Errorf("health %s: exit %d\n%s", role, code, e.output())
		}
	}
	// chartmuseum without its mount is unhealthy.
	s := newStack(t)
	addr := freeAddr(t)
	e := s.env("v1.10.0", addr)
	s.start(e, "chartmuseum")
	if code := e.run("health", "chartmuseum"); code != exitFail {
		t.Errorf("chartmuseum without /chart_storage: health exit %d", code)
	}
}

// 1.8's harbor-db starts as root: its entrypoint makes the data directory (created as root by
// docker) owned by postgres and drops to it.
func TestDBStartedAsRootDropsTo999(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test checks the root entrypoint and must run as root")
	}
	root, addr := t.TempDir(), freeAddr(t)
	if err := os.MkdirAll(root+pgData, 0o755); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's directories are 0700: let uid 999 through to the data dir, as in a container.
	for _, d := range []string{filepath.Dir(root), root, root + "/var", root + "/var/lib", root + "/var/lib/postgresql"} {
		os.Chmod(d, 0o755)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FAKEHARBOR_TEST_AS_HARBORD=1", "FAKEHARBOR_TEST_ARGS=db",
		"FAKEHARBOR_ROOT="+root, "FAKEHARBOR_SETUID=1", "FAKEHARBOR_LISTEN="+addr, "HARBOR_VERSION=v1.8.6")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("db did not start\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t999\t999\t999\t999\n") {
		t.Errorf("db process credentials:\n%s", status)
	}
	st, err := os.Stat(root + pgData)
	if err != nil || owner(st) != uidPostgres || st.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(root + pgData + "/PG_VERSION"); err != nil {
		t.Errorf("initdb as 999 failed: %v\n%s", err, out.String())
	}
}
