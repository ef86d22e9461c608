package roles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// dbRun is a fake harbor-db started in-process with its image's ENTRYPOINT arguments.
type dbRun struct {
	*running
	addr string
}

// startDB runs `harbord db ARGS...` over root and waits until it serves or exits.
func startDB(t *testing.T, root string, args ...string) *dbRun {
	t.Helper()
	e := newTestEnv(t, "v2.15.2")
	e.root = root
	e.vars["FAKEHARBOR_LISTEN"] = freeAddr(t)
	e.vars["FAKEHARBOR_PG_UPGRADE_MS"] = "300"
	return &dbRun{launch(t, e, fmt.Sprintf("db %q", args), append([]string{"db"}, args...)...), e.vars["FAKEHARBOR_LISTEN"]}
}

// exitCode is the role's exit code, -1 while it serves.
func (r *dbRun) exitCode() int {
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(100 * time.Millisecond):
		return -1
	}
}

// psql runs psql against this db.
func (r *dbRun) psql(t *testing.T, args ...string) (string, int) {
	e := newTestEnv(t, "v2.15.2")
	e.vars["FAKEHARBOR_LISTEN"] = r.addr
	code := e.run(append([]string{"psql"}, args...)...)
	return e.output(), code
}

// cluster writes a fake cluster of major (PG_VERSION as PostgreSQL writes it) holding a schema
// and two projects into dir.
func cluster(t *testing.T, dir, pgVersion string, schema int) {
	t.Helper()
	files := map[string]string{
		"PG_VERSION":             pgVersion + "\n",
		"schema_migrations.json": `{"version":` + itoa(schema) + `,"dirty":false}`,
		"projects.json":          `[{"project_id":1,"name":"library","deleted":false},{"project_id":2,"name":"gone","deleted":true},{"project_id":3,"name":"team","deleted":false}]`,
		"repository.json":        `[{"repository_id":1,"name":"team/app","project_id":3}]`,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(dir, uidPostgres, uidPostgres)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func ls(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

var bundleCountQueries = [][]string{
	{"-U", "postgres", "-d", "registry", "-t", "-A", "-c", "SELECT count(*) FROM project WHERE deleted = false"},
	{"-U", "postgres", "-d", "registry", "-t", "-A", "-c", "SELECT count(*) FROM repository"},
}

// wantCounts checks the counts bundle reads through psql.
func (r *dbRun) wantCounts(t *testing.T, projects, repositories string) {
	t.Helper()
	for i, want := range []string{projects + "\n", repositories + "\n"} {
		if out, code := r.psql(t, bundleCountQueries[i]...); code != 0 || out != want {
			t.Errorf("%s: exit %d, %q, want %q", bundleCountQueries[i][len(bundleCountQueries[i])-1], code, out, want)
		}
	}
}

// A 9.6 image (no arguments) keeps its cluster in the data directory's root.
func TestDB96ClusterInRoot(t *testing.T) {
	root := t.TempDir()
	r := startDB(t, root)
	if code := r.exitCode(); code != -1 {
		t.Fatalf("exit %d\n%s", code, r.e.output())
	}
	if got := r.e.read(pgData + "/PG_VERSION"); got != "9.6\n" {
		t.Errorf("PG_VERSION %q", got)
	}
}

// 2.9+ (["13","14"]): pg13 is upgraded into pg14, then pg13 is deleted (rm -rf $PGDATAOLD); the
// data survives; the next start launches pg14 without upgrading.
func TestDBUpgradesOldMajorAndDeletesIt(t *testing.T) {
	root := t.TempDir()
	cluster(t, root+pgData+"/pg13", "13", 80)
	r := startDB(t, root, "13", "14")
	if code := r.exitCode(); code != -1 {
		t.Fatalf("exit %d\n%s", code, r.e.output())
	}
	out := r.e.output()
	for _, want := range []string{"upgrade DB from 13 to 14", "start to upgrade.", "success to upgrade.", "remove the /var/lib/postgresql/data/pg13 after upgrade success."} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if got := ls(t, root+pgData); !slices.Equal(got, []string{"pg14"}) {
		t.Errorf("data dir after upgrade: %v", got)
	}
	if got := r.e.read(pgData + "/pg14/PG_VERSION"); got != "14\n" {
		t.Errorf("PG_VERSION %q", got)
	}
	r.wantCounts(t, "2", "1")
	if out, code := r.psql(t, "-U", "postgres", "-d", "registry", "-t", "-A", "-c", "SELECT version, dirty FROM schema_migrations"); code != 0 || out != "80|f\n" {
		t.Errorf("schema after upgrade: %d %q", code, out)
	}
	close(r.stop)
	<-r.done
	again := startDB(t, root, "13", "14")
	if code := again.exitCode(); code != -1 || strings.Contains(again.e.output(), "upgrade") {
		t.Errorf("second start: exit %d\n%s", code, again.e.output())
	}
	again.wantCounts(t, "2", "1")
}

// 2.3-2.6 (["96","13"]): the 9.6 cluster in the root is upgraded into pg13, then everything in
// the root but pg13 is deleted (find $PGDATA/* -prune ! -name pg13: dot files are not matched).
func TestDBUpgrades96RootAndDeletesIt(t *testing.T) {
	root := t.TempDir()
	cluster(t, root+pgData, "9.6", 15)
	os.WriteFile(root+pgData+"/.hidden", []byte("x"), 0o600)
	os.MkdirAll(root+pgData+"/base/1", 0o700)
	r := startDB(t, root, "96", "13")
	if code := r.exitCode(); code != -1 {
		t.Fatalf("exit %d\n%s", code, r.e.output())
	}
	if got := ls(t, root+pgData); !slices.Equal(got, []string{".hidden", "pg13"}) {
		t.Errorf("data dir after upgrade: %v", got)
	}
	if !strings.Contains(r.e.output(), "remove the /var/lib/postgresql/data after upgrade success.") {
		t.Errorf("log:\n%s", r.e.output())
	}
	r.wantCounts(t, "2", "1")
	// An empty data directory: a new database in pg13.
	root = t.TempDir()
	r = startDB(t, root, "96", "13")
	if code := r.exitCode(); code != -1 || r.e.read(pgData+"/pg13/PG_VERSION") != "13\n" {
		t.Errorf("empty data dir: exit %d\n%s", code, r.e.output())
	}
	// 2.3's script wants PG_VERSION in the root or in pg96: anything else is refused.
	root = t.TempDir()
	os.MkdirAll(root+pgData+"/stray", 0o700)
	r = startDB(t, root, "96", "13")
	if code := r.exitCode(); code != exitFail || !strings.Contains(r.e.output(), "incorrect data: /var/lib/postgresql/data/pg96, make sure /var/lib/postgresql/data/pg96 is not empty and with PG_VERSION inside.") {
		t.Errorf("stray content: exit %d\n%s", code, r.e.output())
	}
}

// No cluster of either major: initdb makes a new EMPTY database (the silent data loss bundle
// must prevent); core has not created the tables yet.
func TestDBInitdbWhenNoCluster(t *testing.T) {
	root := t.TempDir()
	cluster(t, root+pgData+"/pg13", "13", 80) // 2.15's OLD is 15: a pg13 cluster is not looked at
	r := startDB(t, root, "15", "18")
	if code := r.exitCode(); code != -1 {
		t.Fatalf("exit %d\n%s", code, r.e.output())
	}
	if !strings.Contains(r.e.output(), "init DB, DB version:18") {
		t.Errorf("log:\n%s", r.e.output())
	}
	if got := ls(t, root+pgData); !slices.Equal(got, []string{"pg13", "pg18"}) {
		t.Errorf("data dir: %v", got)
	}
	if out, code := r.psql(t, bundleCountQueries[0]...); code != exitFail || !strings.Contains(out, `ERROR:  relation "project" does not exist`) {
		t.Errorf("count on a new database: exit %d %q", code, out)
	}
	// initial-registry.sql created golang-migrate's table, empty: no row.
	if out, code := r.psql(t, "-U", "postgres", "-d", "registry", "-t", "-A", "-c", "SELECT version, dirty FROM schema_migrations"); code != 0 || out != "" {
		t.Errorf("schema on a new 2.x database: exit %d %q", code, out)
	}
	if out, code := r.psql(t, "-U", "postgres", "-d", "registry", "-A", "-c", "SELECT version, dirty FROM schema_migrations"); code != 0 || out != "version|dirty\n(0 rows)\n" {
		t.Errorf("schema on a new 2.x database, with header: exit %d %q", code, out)
	}
}

// 2.7/2.8 (["","13"]) and later refuse a 9.6 cluster with the real script's message, exit 1,
// touching nothing.
func TestDBRefuses96From27(t *testing.T) {
	for _, args := range [][]string{{"", "13"}, {"13", "14"}} {
		root := t.TempDir()
		cluster(t, root+pgData, "9.6", 15)
		before := ls(t, root+pgData)
		r := startDB(t, root, args...)
		want := "Upgrading from PostgreSQL 9.6 to PostgreSQL " + args[1] + " is not supported in the current Harbor release.\nYou should upgrade to previous Harbor firstly, then upgrade to current release.\n"
		if code := r.exitCode(); code != exitFail || r.e.stdout.String() != want {
			t.Errorf("%q: exit %d\n%s", args, code, r.e.output())
		}
		if got := ls(t, root+pgData); !slices.Equal(got, before) {
			t.Errorf("%q: data dir changed: %v", args, got)
		}
	}
}

// kill -9 in the middle of pg_upgrade leaves the new cluster initialised without the registry
// database and the old one intact; the script then launches the new one at the next start (it
// has PG_VERSION, or for 2.3-2.6 merely exists), which has no registry database: core cannot
// start until someone removes it. The old data is still there to do so.
func TestDBKilledMidUpgrade(t *testing.T) {
	for _, c := range []struct{ old, new, oldDir, rerunLog string }{
		{"13", "14", "/pg13", ""},
		{"96", "13", "", "no need to upgrade postgres, launch it."},
	} {
		root := t.TempDir()
		oldVersion := map[string]string{"13": "13", "96": "9.6"}[c.old]
		cluster(t, root+pgData+c.oldDir, oldVersion, 80)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "FAKEHARBOR_TEST_AS_HARBORD=1", "FAKEHARBOR_TEST_ARGS=db "+c.old+" "+c.new,
			"FAKEHARBOR_ROOT="+root, "FAKEHARBOR_LISTEN="+freeAddr(t), "FAKEHARBOR_PG_UPGRADE_MS=60000")
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), "Performing Upgrade") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		newDir := root + pgData + "/pg" + c.new
		if got, err := os.ReadFile(newDir + "/PG_VERSION"); err != nil || string(got) != c.new+"\n" {
			t.Fatalf("%s->%s: new cluster after kill: %q %v\n%s", c.old, c.new, got, err, out.String())
		}
		if got := ls(t, newDir); !slices.Equal(got, []string{"PG_VERSION"}) {
			t.Errorf("%s->%s: new cluster after kill: %v", c.old, c.new, got)
		}
		if _, err := os.Stat(root + pgData + c.oldDir + "/projects.json"); err != nil {
			t.Errorf("%s->%s: old cluster after kill: %v", c.old, c.new, err)
		}
		r := startDB(t, root, c.old, c.new)
		if code := r.exitCode(); code != -1 || strings.Contains(r.e.output(), "start to upgrade") || !strings.Contains(r.e.output(), c.rerunLog) {
			t.Errorf("%s->%s: rerun: exit %d\n%s", c.old, c.new, code, r.e.output())
		}
		if out, code := r.psql(t, bundleCountQueries[0]...); code != exitUsage || !strings.Contains(out, `FATAL:  database "registry" does not exist`) {
			t.Errorf("%s->%s: psql after rerun: exit %d %q", c.old, c.new, code, out)
		}
		resp, err := http.Get("http://" + r.addr + "/schema_migrations")
		if err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s->%s: core's view after rerun: %v %v", c.old, c.new, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// lockedBuffer is a bytes.Buffer written by a process and read by the test meanwhile.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
