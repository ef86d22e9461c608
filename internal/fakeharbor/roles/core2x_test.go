package roles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// v2env is a role's environment of Harbor 2.15.2 in the stack.
func (s *stack) v2env(listen string) *testEnv {
	e := s.env("v1.10.0", listen)
	e.vars["HARBOR_VERSION"], e.vars["HARBOR_SCHEMA"], e.vars["HARBOR_CONFIG_VERSION"] = "v2.15.2", "180", "2.15.0"
	return e
}

// send makes a request to core and returns the status and body.
func (s *stack) send(t *testing.T, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.coreAdr+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

// A 2.x core migrates a 1.10 schema and serves /api/v2.0 (not /api); a manifest pushed through
// it records the repository; the counts bundle reads in harbor-db follow.
func TestCore2xAPIAndRepositories(t *testing.T) {
	s := newStack(t)
	old := s.core("v1.10.0")
	old.shutdown()
	<-old.done
	core := s.start(s.v2env(s.coreAdr), "core")
	if st := s.schema(); st.Version != 180 || st.Dirty {
		t.Fatalf("schema after the 2.15.2 start: %+v\n%s", st, core.e.output())
	}
	var info map[string]any
	if code := s.get("/api/v2.0/systeminfo", &info); code != 200 || !strings.HasPrefix(info["harbor_version"].(string), "v2.15.2-") || len(info["harbor_version"].(string)) != len("v2.15.2-")+8 {
		t.Errorf("systeminfo: %d %v", code, info)
	}
	if code, body, _ := s.send(t, "GET", "/api/v2.0/ping", ""); code != 200 || body != "Pong" {
		t.Errorf("ping: %d %q", code, body)
	}
	if code, _, _ := s.send(t, "GET", "/api/systeminfo", ""); code != http.StatusNotFound {
		t.Errorf("2.x core serves the 1.x API: %d", code)
	}
	code, body, hdr := s.send(t, "POST", "/api/v2.0/projects", `{"project_name":"team","metadata":{"public":"false"}}`)
	if code != http.StatusCreated || hdr.Get("Location") != "/api/v2.0/projects/2" {
		t.Fatalf("creating a project: %d %q %v", code, body, hdr)
	}
	if code, _, _ := s.send(t, "POST", "/api/v2.0/projects", `{"project_name":"team"}`); code != http.StatusConflict {
		t.Errorf("a second project team: %d", code)
	}
	layer := []byte("layer")
	sum := sha256.Sum256(layer)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if code, body, _ := s.send(t, "PUT", "/v2/team/app/blobs/"+digest, string(layer)); code != http.StatusCreated {
		t.Fatalf("pushing a blob: %d %s", code, body)
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[{"digest":"` + digest + `","size":5}]}`
	if code, body, _ := s.send(t, "PUT", "/v2/nosuch/app/manifests/v1", manifest); code != http.StatusNotFound || !strings.Contains(body, "project nosuch not found") {
		t.Errorf("a push into no project: %d %s", code, body)
	}
	for range 2 { // a second push of the same repository adds no row
		if code, body, _ := s.send(t, "PUT", "/v2/team/app/manifests/v1", manifest); code != http.StatusCreated {
			t.Fatalf("pushing a manifest: %d %s", code, body)
		}
	}
	if code, body, hdr := s.send(t, "GET", "/v2/team/app/manifests/v1", ""); code != 200 || body != manifest || hdr.Get("Content-Type") != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Errorf("pulling the manifest: %d %s %v", code, body, hdr)
	}
	if code, body, hdr := s.send(t, "GET", "/api/v2.0/projects", ""); code != 200 || hdr.Get("X-Total-Count") != "2" {
		t.Errorf("projects: %d %s %v", code, body, hdr)
	}
	if code, body, hdr := s.send(t, "GET", "/api/v2.0/repositories", ""); code != 200 || hdr.Get("X-Total-Count") != "1" {
		t.Errorf("repositories: %d %s %v", code, body, hdr)
	}
	var repos []repository
	if s.get("/api/v2.0/repositories", &repos); len(repos) != 1 || repos[0].Name != "team/app" || repos[0].ProjectID != 2 {
		t.Errorf("repositories: %+v", repos)
	}
	if _, err := os.Stat(s.root + coreData + "/registry" + reposDir + "/team/app/_manifests/tags/v1/current/link"); err != nil {
		t.Errorf("the registry's tag link: %v", err)
	}
	wantCounts := func(projects, repositories string) {
		t.Helper()
		for i, want := range []string{projects + "\n", repositories + "\n"} {
			if e, code := s.psql(append([]string{"psql"}, bundleCountQueries[i]...)...); code != 0 || e.stdout.String() != want {
				t.Errorf("%v: exit %d %q, want %q", bundleCountQueries[i], code, e.output(), want)
			}
		}
	}
	wantCounts("2", "1")
	// Deleting: refused while the project holds a repository; a deleted project stays a row
	// (deleted = true) and leaves the count.
	if code, _, _ := s.send(t, "DELETE", "/api/v2.0/projects/2", ""); code != http.StatusPreconditionFailed {
		t.Errorf("deleting a project with a repository: %d", code)
	}
	s.send(t, "POST", "/api/v2.0/projects", `{"project_name":"empty"}`)
	wantCounts("3", "1")
	if code, body, _ := s.send(t, "DELETE", "/api/v2.0/projects/empty", ""); code != 200 {
		t.Errorf("deleting a project: %d %s", code, body)
	}
	wantCounts("2", "1")
	var projects []project
	if s.get("/api/v2.0/projects", &projects); len(projects) != 2 {
		t.Errorf("projects: %+v", projects)
	}
	if !bytes.Contains([]byte(s.readFile(pgData+"/projects.json")), []byte(`"name":"empty","creation_time"`)) {
		t.Errorf("the deleted project's row is gone")
	}
	// The image's health check asks /api/v2.0/health.
	if e := s.v2env(s.coreAdr); e.run("health", "core") != 0 {
		t.Errorf("health core: %s", e.output())
	}
	if e := s.env("v1.10.0", s.coreAdr); e.run("health", "core") == 0 {
		t.Errorf("a 1.x health check passed against a 2.x core")
	}
}

// 2.x core refuses a schema older than 1.9's with the real message.
func TestCore2xRefusesSchemaBefore19(t *testing.T) {
	s := newStack(t)
	old := s.core("v1.8.6")
	old.shutdown()
	<-old.done
	core := s.start(s.v2env(s.coreAdr), "core")
	code, ok := core.exited()
	if !ok || code != exitFail || !strings.Contains(core.e.output(), "please upgrade to version 1.9 first") {
		t.Errorf("exited %v %d\n%s", ok, code, core.e.output())
	}
	if st := s.schema(); st.Version != 5 || st.Dirty {
		t.Errorf("schema touched: %+v", st)
	}
}

func (s *stack) readFile(p string) string {
	data, _ := os.ReadFile(s.root + p)
	return string(data)
}

// The 2.x roles answer their health checks, and fail them when they cannot write their data.
func TestRoles2xHealth(t *testing.T) {
	for _, c := range []struct {
		role string
		dirs []string
	}{
		{"trivy-adapter", trivyDirs},
		{"exporter", nil},
		{"valkey", []string{valkeyData}},
	} {
		s := newStack(t)
		addr := freeAddr(t)
		e := s.v2env(addr)
		for _, d := range c.dirs {
			os.MkdirAll(s.root+d, 0o755)
		}
		r := s.start(e, c.role)
		if code := e.run("health", c.role); code != 0 {
			t.Errorf("%s: health exit %d\n%s", c.role, code, e.output())
		}
		for _, d := range c.dirs {
			if _, err := os.Stat(s.root + d + "/.harbord-write-check"); err != nil {
				t.Errorf("%s: no marker in %s", c.role, d)
			}
		}
		r.shutdown()
		<-r.done
		if len(c.dirs) == 0 {
			continue
		}
		// Without its last directory (a missing mount) the role is unhealthy.
		s = newStack(t)
		addr = freeAddr(t)
		e = s.v2env(addr)
		for _, d := range c.dirs[:len(c.dirs)-1] {
			os.MkdirAll(s.root+d, 0o755)
		}
		e.vars["FAKEHARBOR_UID"] = "999" // not root: nothing creates the directory
		s.start(e, c.role)
		if code := e.run("health", c.role); code != exitFail {
			t.Errorf("%s without %s: health exit %d\n%s", c.role, c.dirs[len(c.dirs)-1], code, e.output())
		}
	}
	// trivy-adapter's probes are the real adapter's.
	s := newStack(t)
	addr := freeAddr(t)
	for _, d := range trivyDirs {
		os.MkdirAll(s.root+d, 0o755)
	}
	s.start(s.v2env(addr), "trivy-adapter")
	for _, p := range []string{"/probe/healthy", "/probe/ready"} {
		resp, err := http.Get("http://" + addr + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, resp, err)
		}
	}
}
