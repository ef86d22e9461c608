package upgrade

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/harborreal"
	"github.com/harborbundle/bundle/payload"
)

// planEngine is a host as Prepare reads it: containers, tool versions, images, psql answers.
type planEngine struct {
	runOnlyEngine
	containers         []Container
	plugin, standalone string
	pluginErr          error
	projects, repos    string
}

func (e *planEngine) Version(context.Context) (string, error)        { return "27.5.1", nil }
func (e *planEngine) ComposeVersion(context.Context) (string, error) { return e.standalone, nil }
func (e *planEngine) PluginComposeVersion(context.Context) (string, error) {
	return e.plugin, e.pluginErr
}
func (e *planEngine) RootDir(context.Context) (string, error) { return os.TempDir(), nil }
func (e *planEngine) Containers(context.Context, ...string) ([]Container, error) {
	return e.containers, nil
}
func (e *planEngine) ImageIDs(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (e *planEngine) Load(context.Context, io.Reader) error { return errNotInTest }
func (e *planEngine) Exec(_ context.Context, c string, a ...string) (string, error) {
	q := a[len(a)-1]
	switch {
	case strings.Contains(q, "FROM project"):
		return e.projects + "\n", nil
	case strings.Contains(q, "FROM repository"):
		return e.repos + "\n", nil
	case strings.Contains(q, "schema_migrations"):
		return "160|f\n", nil
	}
	return "", errors.New("unexpected " + q)
}

// install2x lays out a running 2.x install from the real installer's harbor.yml.tmpl (https
// commented out, as without a certificate) with data in database/pg<major>.
func install2x(t *testing.T, version, major string, services map[string]string) (dir string, eng *planEngine) {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(harborreal.RequireRoot(t), "installer", version, "harbor.yml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	dv := pgLayout(t, major)
	dir = filepath.Join(t.TempDir(), "harbor")
	os.MkdirAll(dir, 0o755)
	yml := strings.Replace(string(httpOnly(tmpl)), "data_volume: /data", "data_volume: "+dv, 1)
	yml = strings.Replace(yml, "  port: 80\n", "  port: 18080\n", 1)
	os.WriteFile(filepath.Join(dir, "harbor.yml"), []byte(yml), 0o600)
	var compose strings.Builder
	compose.WriteString("services:\n")
	eng = &planEngine{plugin: "2.40.3", standalone: "1.29.2", projects: "4", repos: "9"}
	for svc, img := range services {
		compose.WriteString("  " + svc + ":\n    image: " + img + "\n")
		name := svc
		if svc == "postgresql" {
			name = "harbor-db"
		}
		eng.containers = append(eng.containers, Container{Name: name, Image: img, State: "running",
			Labels: map[string]string{LabelWorkingDir: dir, LabelService: svc, LabelComposeVersion: "2.40.3"}})
	}
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(compose.String()), 0o644)
	return dir, eng
}

func bundle2x(t *testing.T, release, from string, components ...string) *entrySource {
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cat.Get(release)
	if err != nil {
		t.Fatal(err)
	}
	m := &payload.Manifest{Release: r.Version, FromVersions: []string{from}, Components: append([]string{"core"}, components...),
		InstallFlags: r.InstallFlags, Migration: payload.Migration{Method: r.Migration.Method, Image: r.Migration.Image, Args: r.Migration.Args}}
	return &entrySource{m: m, files: map[string][]byte{}}
}

// 2.13.5 with trivy -> 2.15.2, run with the compose plugin: the plan carries --with-trivy, the
// PostgreSQL 15 -> 18 step, the counts read from harbor-db, both compose tools, and the
// health step at /api/v2.0.
func TestPrepare2xPlan(t *testing.T) {
	dir, eng := install2x(t, "v2.13.5", "15", map[string]string{
		"core": "goharbor/harbor-core:v2.13.5", "postgresql": "goharbor/harbor-db:v2.13.5",
		"redis": "goharbor/redis-photon:v2.13.5", "trivy-adapter": "goharbor/trivy-adapter-photon:v2.13.5",
	})
	u, err := Prepare(context.Background(), Options{Bundle: bundle2x(t, "v2.15.2", "v2.13.5", "trivy"), Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	if u == nil {
		t.Fatalf("no plan: %v", err)
	}
	defer u.Close()
	p := u.Plan()
	var text bytes.Buffer
	p.WriteText(&text)
	for _, c := range p.Checks {
		if !c.OK && c.Name != "old images" && c.Name != "image space" && c.Name != "ports" {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	for _, want := range []string{
		"PostgreSQL 15 -> 18 (pg_upgrade at first start; the old cluster database/pg15 is deleted, only the backup brings it back)",
		"4 projects, 9 repositories", "./install.sh --with-trivy (it runs docker compose)",
		"docker compose down in " + dir, "/api/v2.0/systeminfo reporting v2.15.2",
		"it must have at least 4 projects, 9 repositories, or it rolls back",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, text.String())
		}
	}
	if u.targetConfig != "2.15.0" || p.ComposeOld.From != "container labels" {
		t.Errorf("target _version %q, old compose %+v", u.targetConfig, p.ComposeOld)
	}
}

// 2.2.4 (9.6 data) -> 2.8.6 is refused before any change, naming the release to go through;
// an install using a component the target drops is refused without --drop-components.
func TestPrepare2xRefusals(t *testing.T) {
	dir, eng := install2x(t, "v2.6.4", "9.6", map[string]string{
		"core": "goharbor/harbor-core:v2.6.4", "postgresql": "goharbor/harbor-db:v2.6.4",
		"chartmuseum": "goharbor/chartmuseum-photon:v2.6.4",
	})
	u, err := Prepare(context.Background(), Options{Bundle: bundle2x(t, "v2.8.6", "v2.6.4"), Engine: eng,
		HarborDir: dir, BackupDir: filepath.Join(t.TempDir(), "backups"), DryRun: true})
	var pe *PreflightError
	if !errors.As(err, &pe) {
		t.Fatalf("not refused: %v", err)
	}
	defer u.Close()
	failed := map[string]string{}
	for _, c := range pe.Failed {
		failed[c.Name] = c.Detail
	}
	if d := failed["database data"]; !strings.Contains(d, "upgrade to v2.6.x first") {
		t.Errorf("database data: %q", d)
	}
	if d := failed["dropped components"]; !strings.Contains(d, "--drop-components chartmuseum") || !strings.Contains(d, "chart_storage") {
		t.Errorf("dropped components: %q", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "harbor.yml")); err != nil {
		t.Error(err)
	}
}
