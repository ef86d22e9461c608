package roles

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// The fake adapter with skip_update true: not ready and no DB in its metadata until a DB is in
// its cache dir; then ready, reporting the DB's UpdatedAt (seconds, as the real one formats it)
// and no next-update (skip_update); curl reads the metadata as bundle does through docker exec.
func TestTrivyAdapterSkipUpdateNeedsDB(t *testing.T) {
	s := newStack(t)
	addr := freeAddr(t)
	for _, d := range trivyDirs {
		os.MkdirAll(s.root+d, 0o755)
	}
	e := s.v2env(addr)
	e.vars["SCANNER_TRIVY_SKIP_UPDATE"], e.vars["SCANNER_TRIVY_OFFLINE_SCAN"] = "True", "True"
	s.start(e, "trivy-adapter")
	status := func(p string) int {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	meta := func() map[string]string {
		c := newTestEnv(t, "v2.15.2")
		if code := c.run("curl", "-sf", "http://"+addr+"/api/v1/metadata"); code != 0 {
			t.Fatalf("curl: exit %d\n%s", code, c.output())
		}
		var m struct{ Properties map[string]string }
		if err := json.Unmarshal(c.stdout.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, c.stdout.String())
		}
		return m.Properties
	}
	if got := status("/probe/healthy"); got != 200 {
		t.Errorf("healthy: %d", got)
	}
	if got := status("/probe/ready"); got != http.StatusServiceUnavailable {
		t.Errorf("ready without a DB and skip_update: %d", got)
	}
	p := meta()
	if _, ok := p["harbor.scanner-adapter/vulnerability-database-updated-at"]; ok || p["env.SCANNER_TRIVY_SKIP_UPDATE"] != "true" || p["env.SCANNER_TRIVY_OFFLINE_SCAN"] != "true" {
		t.Errorf("metadata without a DB: %v", p)
	}
	db := s.root + "/home/scanner/.cache/trivy/db"
	os.MkdirAll(db, 0o755)
	os.WriteFile(db+"/metadata.json", []byte(`{"Version":2,"NextUpdate":"2026-11-26T06:00:00.5Z","UpdatedAt":"2026-11-25T06:00:00.123456Z","DownloadedAt":"0001-01-01T00:00:00Z"}`), 0o644)
	if got := status("/probe/ready"); got != http.StatusServiceUnavailable {
		t.Errorf("ready with metadata.json but no trivy.db: %d", got)
	}
	os.WriteFile(db+"/trivy.db", []byte("bolt"), 0o644)
	if got := status("/probe/ready"); got != 200 {
		t.Errorf("ready with a DB: %d", got)
	}
	p = meta()
	if got := p["harbor.scanner-adapter/vulnerability-database-updated-at"]; got != "2026-11-25T06:00:00Z" {
		t.Errorf("updated-at %q", got)
	}
	if _, ok := p["harbor.scanner-adapter/vulnerability-database-next-update-at"]; ok {
		t.Errorf("next-update-at with skip_update: %v", p)
	}
	c := newTestEnv(t, "v2.15.2")
	if code := c.run("curl", "-sf", "http://"+addr+"/nothing"); code != 22 {
		t.Errorf("curl --fail on a 404: exit %d", code)
	}
}

// Without skip_update the adapter is ready with no DB (the real one would download it) and
// reports the next update; a bad boolean in its env stops it, as caarlos0/env does.
func TestTrivyAdapterDefaults(t *testing.T) {
	s := newStack(t)
	addr := freeAddr(t)
	for _, d := range trivyDirs {
		os.MkdirAll(s.root+d, 0o755)
	}
	s.start(s.v2env(addr), "trivy-adapter")
	resp, err := http.Get("http://" + addr + "/probe/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("ready without skip_update: %v %v", resp, err)
	}
	e := s.v2env(freeAddr(t))
	e.vars["SCANNER_TRIVY_SKIP_UPDATE"] = "maybe"
	if code := e.run("trivy-adapter"); code != exitFail || !strings.Contains(e.output(), "SCANNER_TRIVY_SKIP_UPDATE") {
		t.Errorf("bad env: exit %d\n%s", code, e.output())
	}
}

// The env the fake prepare writes has the trivy lines the real template of each line renders
// for the same harbor.yml values (rendered here by the jinja evaluator the differential tests
// hold against jinja2).
func TestTrivyAdapterEnvAsRealTemplate(t *testing.T) {
	root := harborreal.RequireRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "prepare", "v2.*"))
	if len(dirs) == 0 {
		t.Fatalf("no prepare/v2.* under %s", root)
	}
	trivyLine := regexp.MustCompile(`(?m)^SCANNER_TRIVY_(SKIP_UPDATE|SKIP_JAVA_DB_UPDATE|OFFLINE_SCAN|CACHE_DIR|REPORTS_DIR)=.*$`)
	for _, dir := range dirs {
		tag := filepath.Base(dir)
		line, _, err := lineOf(tag)
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join(dir, "templates", "trivy-adapter", "env.jinja"))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := parseJinja(string(src))
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		for _, ts := range []trivySettings{{skipUpdate: true, offlineScan: true, skipJavaDBUpdate: true}, {skipUpdate: true}, {}} {
			vars, err := pyLoad([]byte("log_level: info\ntrivy_redis_url: redis://redis:6379/5\ninternal_tls: {enabled: false}\n" +
				"trivy_skip_update: " + jinjaBool(ts.skipUpdate) + "\ntrivy_skip_java_db_update: " + jinjaBool(ts.skipJavaDBUpdate) +
				"\ntrivy_offline_scan: " + jinjaBool(ts.offlineScan) + "\ntrivy_ignore_unfixed: False\ntrivy_insecure: False\n" +
				"trivy_github_token: ''\ntrivy_timeout: 5m0s\ntrivy_security_check: vuln\ntrivy_db_repository: r\ntrivy_java_db_repository: r\n" +
				"trivy_http_proxy: ''\ntrivy_https_proxy: ''\ntrivy_no_proxy: ''\n"))
			if err != nil {
				t.Fatal(err)
			}
			real, err := renderJinja(tpl, vars)
			if err != nil {
				t.Fatalf("%s: rendering: %v", tag, err)
			}
			fake := trivyAdapterEnv(line, settings2{settings: settings{logLevel: "info"}}, ts)
			want := strings.Join(trivyLine.FindAllString(real, -1), "\n")
			got := strings.Join(trivyLine.FindAllString(fake, -1), "\n")
			if want != got {
				t.Errorf("%s %+v: the real template renders\n%s\nthe fake\n%s", tag, ts, want, got)
			}
		}
	}
}
