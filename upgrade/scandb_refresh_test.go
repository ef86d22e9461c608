package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/scandb"
)

// dbSource is a refresh bundle carrying one trivy-db layer (the fake registry's, as the builder
// stores it).
type dbSource struct {
	m     payload.Manifest
	layer []byte
}

func newDBSource(t *testing.T, at time.Time) *dbSource {
	t.Helper()
	layer, err := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, at)
	if err != nil {
		t.Fatal(err)
	}
	d := payload.ScanDB{Kind: payload.ScanDBTrivy, Digest: "sha256:" + strings.Repeat("a", 64), Size: int64(len(layer)),
		Metadata: fakeharbor.TrivyDBMetadata(payload.ScanDBTrivy, at)}
	return &dbSource{m: payload.Manifest{Kind: payload.KindTrivyDBRefresh, ScanDBs: []payload.ScanDB{d}}, layer: layer}
}

func (s *dbSource) Manifest() *payload.Manifest                              { return &s.m }
func (s *dbSource) Verify(context.Context, progress.Reporter) error          { return nil }
func (s *dbSource) DockerArchive(context.Context, io.Writer, []string) error { return errNotInTest }
func (s *dbSource) OpenEntry(p string) (io.ReadCloser, error) {
	if p != "images/blobs/sha256/"+strings.Repeat("a", 64) {
		return nil, fmt.Errorf("no entry %s", p)
	}
	return io.NopCloser(bytes.NewReader(s.layer)), nil
}

// adapterEngine plays a running trivy-adapter over a cache dir: stop and start change its
// state, and its metadata (curl in the container) reports db/metadata.json as the real adapter
// does, unless broken says it never comes back.
type adapterEngine struct {
	runOnlyEngine
	cache   string
	running bool
	broken  bool
	calls   []string
}

func (e *adapterEngine) Containers(context.Context, ...string) ([]Container, error) {
	state := "exited"
	if e.running {
		state = "running"
	}
	return []Container{{Name: adapterContainer, State: state, Health: "healthy", Labels: map[string]string{LabelComposeVersion: "2.40.3"}}}, nil
}

func (e *adapterEngine) Compose(_ context.Context, tool ComposeTool, dir string, args ...string) error {
	e.calls = append(e.calls, tool.Name()+" "+strings.Join(args, " "))
	switch args[0] {
	case "stop":
		e.running = false
	case "start":
		e.running = !e.broken
	}
	return nil
}

func (e *adapterEngine) Exec(_ context.Context, c string, a ...string) (string, error) {
	if c != adapterContainer || !e.running || a[0] != "curl" {
		return "", errors.New("no such container running")
	}
	m, ok, err := scandb.Installed(e.cache, payload.ScanDBTrivy)
	if err != nil || !ok {
		return `{"properties":{}}`, nil
	}
	at, _ := scandb.ParseTime(m.UpdatedAt)
	return fmt.Sprintf(`{"properties":{%q:%q}}`, propDBUpdatedAt, at.Format(time.RFC3339)), nil
}

// refreshOn makes a Refresh of src for a running 2.15.2 with trivy whose data volume is under a
// temp dir, with the DB installed at installed (zero: none).
func refreshOn(t *testing.T, src *dbSource, installed time.Time) (*Refresh, *adapterEngine, string) {
	t.Helper()
	dv := t.TempDir()
	cache := trivyCache(dv)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if !installed.IsZero() {
		layer, _ := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, installed)
		if err := scandb.Unpack(bytes.NewReader(layer), payload.ScanDBTrivy, filepath.Join(cache, "db"), scandb.AdapterUID, scandb.AdapterGID); err != nil {
			t.Fatal(err)
		}
	}
	eng := &adapterEngine{cache: cache, running: true}
	in := &Install{Dir: filepath.Join(dv, "harbor"), Version: "v2.15.2", Running: true, Components: []string{"trivy"}, DataVolume: dv}
	in.Containers, _ = eng.Containers(context.Background())
	r := &Refresh{o: RefreshOptions{Bundle: src, Engine: eng, BackupDir: t.TempDir(), Timeout: 2 * time.Second,
		Interval: 10 * time.Millisecond, Out: io.Discard, Progress: progress.Discard}, in: in, log: newRunLog(), tag: "20261127-000000"}
	return r, eng, cache
}

var (
	refreshOld = time.Date(2026, 11, 13, 6, 0, 0, 0, time.UTC)
	refreshNew = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
)

func TestRefreshRefusals(t *testing.T) {
	ctx := context.Background()
	// An older DB than the installed one: refused naming both, unless forced.
	r, _, _ := refreshOn(t, newDBSource(t, refreshOld), refreshNew)
	err := r.makePlan(ctx)
	var ref *RefreshRefusedError
	if !errors.As(err, &ref) || ref.ExitCode() != 2 || !strings.Contains(err.Error(), "2026-11-13T06:00:00Z") ||
		!strings.Contains(err.Error(), "2026-11-27T06:00:00Z") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("older DB: %v", err)
	}
	r.o.Force = true
	if err := r.makePlan(ctx); err != nil {
		t.Errorf("older DB with --force: %v", err)
	}
	// The same DB: nothing to do.
	r, _, _ = refreshOn(t, newDBSource(t, refreshNew), refreshNew)
	var same *AlreadyRefreshedError
	if err := r.makePlan(ctx); !errors.As(err, &same) || same.ExitCode() != 0 {
		t.Errorf("same DB: %v", err)
	}
	// No trivy, not running, 1.x.
	for name, change := range map[string]func(*Install){
		"no trivy":    func(in *Install) { in.Components = nil },
		"not running": func(in *Install) { in.Running = false },
		"1.x":         func(in *Install) { in.Version = "v1.10.0" },
		"no adapter":  func(in *Install) { in.Containers = nil },
	} {
		r, _, _ := refreshOn(t, newDBSource(t, refreshNew), refreshOld)
		change(r.in)
		if err := r.makePlan(ctx); !errors.As(err, &ref) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The adapter stopped (as a refresh killed after its stop leaves it): the refusal says how
	// to go on.
	r, _, _ = refreshOn(t, newDBSource(t, refreshNew), refreshOld)
	for i, c := range r.in.Containers {
		if c.Name == "trivy-adapter" {
			r.in.Containers[i].State = "exited"
		}
	}
	if err := r.makePlan(ctx); !errors.As(err, &ref) || !strings.Contains(err.Error(), "docker start trivy-adapter") {
		t.Errorf("adapter stopped: %v", err)
	}
	// A layer that is not what Trivy expects is refused as a damaged bundle.
	src := newDBSource(t, refreshNew)
	src.layer = append([]byte(nil), src.layer...)
	src.layer[len(src.layer)/2] ^= 0xff
	r, _, _ = refreshOn(t, src, refreshOld)
	var bad *BundleError
	if err := r.makePlan(ctx); !errors.As(err, &bad) {
		t.Errorf("corrupt layer: %v", err)
	}
}

// A refresh swaps the DB in, keeps the previous one beside it and restarts only the adapter.
func TestRefreshSwaps(t *testing.T) {
	ctx := context.Background()
	r, eng, cache := refreshOn(t, newDBSource(t, refreshNew), refreshOld)
	if err := os.MkdirAll(filepath.Join(cache, "db.previous-20260101-000000"), 0o755); err != nil { // an earlier refresh's
		t.Fatal(err)
	}
	if err := r.makePlan(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := r.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok, _ := scandb.Installed(cache, payload.ScanDBTrivy); !ok || m.UpdatedAt != refreshNew.Format(time.RFC3339Nano) {
		t.Errorf("installed after the refresh: %+v", m)
	}
	prev := filepath.Join(cache, "db.previous-"+r.tag)
	if b, err := os.ReadFile(filepath.Join(prev, "metadata.json")); err != nil || !strings.Contains(string(b), "2026-11-13T06:00:00Z") {
		t.Errorf("previous DB: %s %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "*db*")); len(left) != 2 { // db and one previous
		t.Errorf("left in the cache: %v", left)
	}
	if strings.Join(eng.calls, "; ") != "docker compose stop trivy-adapter; docker compose start trivy-adapter" || len(res.DBs) != 1 {
		t.Errorf("compose calls %v, result %+v", eng.calls, res)
	}
}

// An adapter that does not come back with the new DB: the old one is swapped back, exit 1.
func TestRefreshRollsBack(t *testing.T) {
	ctx := context.Background()
	r, eng, cache := refreshOn(t, newDBSource(t, refreshNew), refreshOld)
	if err := r.makePlan(ctx); err != nil {
		t.Fatal(err)
	}
	eng.broken = true
	_, err := r.Execute(ctx)
	var failed *RefreshFailedError
	if !errors.As(err, &failed) || failed.RolledBack || failed.ExitCode() != 3 {
		// broken stays broken: the swap back is done but the adapter cannot start: exit 3 with commands.
		t.Errorf("adapter that never starts: %v", err)
	}
	if m, ok, _ := scandb.Installed(cache, payload.ScanDBTrivy); !ok || m.UpdatedAt != refreshOld.Format(time.RFC3339Nano) {
		t.Errorf("installed after the failed refresh: %+v", m)
	}
	// An adapter that starts but keeps serving something else (say a stale cache): rolled back, exit 1.
	r, eng, cache = refreshOn(t, newDBSource(t, refreshNew), refreshOld)
	if err := r.makePlan(ctx); err != nil {
		t.Fatal(err)
	}
	r.o.Engine = &stubbornEngine{eng}
	_, err = r.Execute(ctx)
	if !errors.As(err, &failed) || !failed.RolledBack || failed.ExitCode() != 1 || !strings.Contains(err.Error(), "Rolled back") {
		t.Errorf("adapter serving the wrong DB: %v", err)
	}
	if m, ok, _ := scandb.Installed(cache, payload.ScanDBTrivy); !ok || m.UpdatedAt != refreshOld.Format(time.RFC3339Nano) {
		t.Errorf("installed after the rollback: %+v", m)
	}
	if failedDir, _ := filepath.Glob(filepath.Join(cache, "db.failed-*")); len(failedDir) != 1 {
		t.Errorf("the refused DB is not kept as evidence: %v", failedDir)
	}
}

// stubbornEngine's adapter always reports the old DB.
type stubbornEngine struct{ *adapterEngine }

func (e *stubbornEngine) Exec(context.Context, string, ...string) (string, error) {
	if !e.running {
		return "", errors.New("not running")
	}
	return fmt.Sprintf(`{"properties":{%q:%q}}`, propDBUpdatedAt, refreshOld.Format(time.RFC3339)), nil
}
