package fakeharbor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/docker"
)

// The fake harbor-db:v2.10.3 image (ENTRYPOINT args "13" "14", as the real one) over a data
// directory holding a pg13 cluster upgrades it into pg14 as the real docker-entrypoint.sh does,
// deletes pg13, and answers bundle's count queries from the upgraded data; started again it
// launches pg14 without upgrading. A unique container name, no Harbor names: no e2e lock.
func TestDBContainerUpgrades13To14(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	image, label := loadFakeImage(t, ctx, "v2.10.3", "db")
	name := strings.ReplaceAll(strings.TrimPrefix(label, "io.github.harborbundle.test="), "=", "-")
	data := filepath.Join(t.TempDir(), "database")
	pg13 := filepath.Join(data, "pg13")
	files := map[string]string{
		"PG_VERSION":             "13\n",
		"schema_migrations.json": `{"version":111,"dirty":false}`,
		"projects.json":          `[{"project_id":1,"name":"library"},{"project_id":2,"name":"old","deleted":true},{"project_id":3,"name":"team"}]`,
		"repository.json":        `[{"id":1,"name":"team/a","project_id":3},{"id":2,"name":"team/b","project_id":3}]`,
	}
	if err := os.MkdirAll(pg13, 0o700); err != nil {
		t.Fatal(err)
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(pg13, f), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{data, pg13, filepath.Join(pg13, "PG_VERSION"), filepath.Join(pg13, "schema_migrations.json"), filepath.Join(pg13, "projects.json"), filepath.Join(pg13, "repository.json")} {
		if err := os.Chown(p, 999, 999); err != nil { // what prepare does; the image runs as 999
			t.Fatal(err)
		}
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		return string(out), err
	}
	d := &docker.Runner{Log: &SyncBuffer{}}
	start := func() {
		t.Helper()
		if out, err := run("run", "-d", "--name", name, "--label", label, "--network", "none", "-v", data+":/var/lib/postgresql/data", image); err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
	}
	waitCounts := func() (int, int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			p, r, err := DBCounts(ctx, d, name)
			if err == nil {
				return p, r
			}
			if time.Now().After(deadline) {
				logs, _ := run("logs", name)
				t.Fatalf("counts: %v\n%s", err, logs)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	start()
	if p, r := waitCounts(); p != 2 || r != 2 {
		t.Errorf("counts after the upgrade: %d projects, %d repositories; want 2, 2", p, r)
	}
	logs, _ := run("logs", name)
	for _, want := range []string{"upgrade DB from 13 to 14", "success to upgrade.", "remove the /var/lib/postgresql/data/pg13 after upgrade success."} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "pg14" {
		t.Errorf("data dir after the upgrade: %v", entries)
	}
	if v, err := os.ReadFile(filepath.Join(data, "pg14", "PG_VERSION")); err != nil || string(v) != "14\n" {
		t.Errorf("pg14/PG_VERSION: %q %v", v, err)
	}
	if out, err := run("rm", "-f", name); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	start()
	if p, r := waitCounts(); p != 2 || r != 2 {
		t.Errorf("counts after a restart: %d, %d", p, r)
	}
	if logs, _ := run("logs", name); strings.Contains(logs, "upgrade") {
		t.Errorf("second start upgraded again:\n%s", logs)
	}
	// bundle's schema check reads the upgraded table too.
	out, err := d.Exec(ctx, name, "psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-c", "SELECT version, dirty FROM schema_migrations")
	if err != nil || out != "111|f\n" {
		t.Errorf("schema: %q %v", out, err)
	}
}
