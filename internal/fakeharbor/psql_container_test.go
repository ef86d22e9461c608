package fakeharbor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fake harbor-db:v1.10.0 container answers bundle's dirty-database check,
// `docker exec harbor-db psql -U postgres -d registry -t -A -F '|' -c 'SELECT version, dirty FROM
// schema_migrations'`, from the state its data directory holds, as real harbor-db's PostgreSQL
// answers for golang-migrate's table. A unique container name, no Harbor names: no e2e lock.
func TestDBContainerAnswersPsql(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	image, label := loadFakeImage(t, ctx, "v1.10.0", "db")
	name := strings.ReplaceAll(strings.TrimPrefix(label, "io.github.harborbundle.test="), "=", "-")
	data := filepath.Join(t.TempDir(), "database")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, 999, 999); err != nil { // what 1.10's prepare does; the image runs as 999
		t.Fatal(err)
	}
	docker := func(args ...string) (string, int) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitCode()
		}
		t.Fatalf("docker %v: %v", args, err)
		return "", -1
	}
	psql := func() (string, int) {
		return docker("exec", name, "psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-F", "|", "-c", "SELECT version, dirty FROM schema_migrations")
	}
	if out, code := docker("run", "-d", "--name", name, "--label", label, "--network", "none", "-v", data+":/var/lib/postgresql/data", image); code != 0 {
		t.Fatalf("docker run: exit %d\n%s", code, out)
	}
	// Fresh cluster: until the server accepts connections psql cannot connect (2); then the
	// registry database has no schema_migrations yet: core never migrated it.
	deadline := time.Now().Add(60 * time.Second)
	out, code := psql()
	for code == 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		out, code = psql()
	}
	if code != 1 || !strings.Contains(out, `relation "schema_migrations" does not exist`) {
		t.Fatalf("fresh database: exit %d\n%s", code, out)
	}
	for _, c := range []struct{ state, want string }{{`{"version":15,"dirty":false}`, "15|f\n"}, {`{"version":12,"dirty":true}`, "12|t\n"}} {
		state := filepath.Join(data, "schema_migrations.json")
		if err := os.WriteFile(state, []byte(c.state), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(state, 999, 999); err != nil {
			t.Fatal(err)
		}
		if out, code := psql(); code != 0 || out != c.want {
			t.Errorf("state %s: exit %d, output %q, want %q", c.state, code, out, c.want)
		}
	}
	if out, code := docker("exec", name, "psql", "-U", "postgres", "-d", "registry", "-c", "DROP TABLE project"); code == 0 || !strings.Contains(out, "ERROR:") {
		t.Errorf("another query: exit %d\n%s", code, out)
	}
	// A stopped harbor-db: docker exec itself fails, psql never runs.
	if out, code := docker("stop", "-t", "2", name); code != 0 {
		t.Fatalf("docker stop: %s", out)
	}
	if out, code := psql(); code == 0 || !strings.Contains(out, "is not running") {
		t.Errorf("stopped: exit %d\n%s", code, out)
	}
}
