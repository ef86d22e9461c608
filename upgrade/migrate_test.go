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
	"syscall"
	"testing"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/harborreal"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
)

// entrySource is a bundle holding only installer files.
type entrySource struct {
	m     *payload.Manifest
	files map[string][]byte
}

func (s *entrySource) Manifest() *payload.Manifest                     { return s.m }
func (s *entrySource) Verify(context.Context, progress.Reporter) error { return nil }
func (s *entrySource) OpenEntry(p string) (io.ReadCloser, error) {
	b, ok := s.files[p]
	if !ok {
		return nil, fmt.Errorf("no entry %s", p)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
func (s *entrySource) DockerArchive(context.Context, io.Writer, []string) error {
	return errors.New("no images in this test bundle")
}

// runOnlyEngine is an Engine whose only working call is Run (and Exec when exec is set).
type runOnlyEngine struct {
	run  func(RunSpec) error
	exec func(container string, args []string) (string, error)
	runs int
}

var errNotInTest = errors.New("not used by this test")

func (e *runOnlyEngine) Version(context.Context) (string, error)        { return "", errNotInTest }
func (e *runOnlyEngine) ComposeVersion(context.Context) (string, error) { return "", errNotInTest }
func (e *runOnlyEngine) RootDir(context.Context) (string, error)        { return "", errNotInTest }
func (e *runOnlyEngine) Containers(context.Context, ...string) ([]Container, error) {
	return nil, errNotInTest
}
func (e *runOnlyEngine) ImageIDs(context.Context, []string) (map[string]string, error) {
	return nil, errNotInTest
}
func (e *runOnlyEngine) Load(context.Context, io.Reader) error { return errNotInTest }
func (e *runOnlyEngine) Compose(context.Context, ComposeTool, string, ...string) error {
	return errNotInTest
}
func (e *runOnlyEngine) PluginComposeVersion(context.Context) (string, error) {
	return "", errNotInTest
}
func (e *runOnlyEngine) Logs(context.Context, string, int) (string, error) { return "", errNotInTest }
func (e *runOnlyEngine) Run(_ context.Context, s RunSpec) error            { e.runs++; return e.run(s) }
func (e *runOnlyEngine) Exec(_ context.Context, c string, a ...string) (string, error) {
	return e.exec(c, a)
}

// realMigratorRun runs Harbor's real v1.10.0 migrator.py (harborreal) for a `docker run` of
// the harbor-migrator image: what is mounted at its fixed paths goes in, and what the real
// code wrote comes back to the host paths, as the bind mounts would carry it.
func realMigratorRun(t *testing.T) func(RunSpec) error {
	return func(s RunSpec) error {
		var in, outDir string
		for _, m := range s.Mounts {
			switch m.Container {
			case migratorInput:
				in = m.Host
			case migratorOutDir:
				outDir = m.Host
			}
		}
		if in == "" || outDir == "" {
			return fmt.Errorf("the migrator is not mounted at its fixed paths: %+v", s.Mounts)
		}
		if strings.Join(s.Args, " ") != "--cfg up" || s.Network != "none" {
			return fmt.Errorf("migrator run as %v on network %q", s.Args, s.Network)
		}
		input, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		mode := harborreal.OutDirEmpty
		if _, err := os.Stat(filepath.Join(outDir, "harbor.yml")); err == nil {
			mode = harborreal.OutFileExists
		}
		res, err := harborreal.RunMigrator110(context.Background(), input, mode)
		if err != nil {
			t.Fatalf("running the real migrator: %v", err)
		}
		if s.Stdout != nil {
			fmt.Fprintf(s.Stdout, "[real migrator, %s: exit %d]\n%s", mode, res.Exit, res.Log)
		}
		// What the real code wrote, with the mode its shutil.copy leaves: 0644.
		write := func(p string, b []byte) error {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
			return os.Chmod(p, 0o644)
		}
		if !bytes.Equal(res.Input, input) {
			if err := write(in, res.Input); err != nil {
				return err
			}
		}
		if res.Out != nil {
			if err := write(filepath.Join(outDir, "harbor.yml"), res.Out); err != nil {
				return err
			}
		}
		if res.Exit != 0 {
			return fmt.Errorf("migrator exit status %d", res.Exit)
		}
		return nil
	}
}

// migrateFixture is an upgrade at its migrate step: the old install dir is in the backup.
type migrateFixture struct {
	u          *Upgrade
	installDir string // where the new install goes (the old one was moved away)
	oldDir     string // the old install dir in the backup
	eng        *runOnlyEngine
}

func newMigrateFixture(t *testing.T, oldYML []byte, target string, run func(RunSpec) error) *migrateFixture {
	t.Helper()
	root := t.TempDir()
	j := &Journal{ID: "20261201T000000Z-test", InstallDir: filepath.Join(root, "harbor"), dir: filepath.Join(root, "backups", "20261201T000000Z-test")}
	oldDir := filepath.Join(j.dir, "harbor")
	if err := os.MkdirAll(oldDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oldDir, "harbor.yml"), oldYML, 0o640); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"installer/install.sh": []byte("#!/bin/bash\necho fake install\n"),
		"installer/harbor.yml": []byte("hostname: reg.mydomain.com\n_version: " + target + "\n"),
	}
	m := &payload.Manifest{Release: "v1.10.0",
		Migration: payload.Migration{Method: harbor.MethodMigrator, Image: "goharbor/harbor-migrator:v1.10.0", Args: []string{"--cfg", "up"}}}
	for p, b := range files {
		mode := uint32(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		m.Entries = append(m.Entries, payload.Entry{Path: p, Size: int64(len(b)), Mode: mode})
	}
	eng := &runOnlyEngine{run: run}
	u := &Upgrade{o: Options{Bundle: &entrySource{m: m, files: files}, Engine: eng}, manifest: m,
		journal: j, log: newRunLog(), targetConfig: target}
	return &migrateFixture{u: u, installDir: j.InstallDir, oldDir: oldDir, eng: eng}
}

// addOldFile puts a file into the old install dir (in the backup) with a mode and owner.
func (f *migrateFixture) addOldFile(t *testing.T, rel string, data []byte, mode os.FileMode, uid, gid int) {
	t.Helper()
	p := filepath.Join(f.oldDir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Dir(p), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func (f *migrateFixture) logText() string { return f.u.log.buf.String() }

func realDefaultYML(t *testing.T, version string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harborreal.RequireRoot(t), "installer", version, "harbor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(b, []byte("hostname: reg.mydomain.com"), []byte("hostname: harbor.example.test"), 1)
}

func ownerMode(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%v %d:%d", st.Mode(), s.Uid, s.Gid)
}

// A patch upgrade (1.10.0 -> 1.10.x: the same `_version`) runs no migrator: the real one would
// say "no need to upgrade" and write nothing. harbor.yml comes across byte for byte, and the
// certificate it names inside the old install dir comes along with its mode and owner.
func TestMigratePatchUpgradeRunsNoMigrator(t *testing.T) {
	yml := realDefaultYML(t, "v1.10.0")
	f := newMigrateFixture(t, nil, "1.10.0", func(s RunSpec) error {
		t.Errorf("a container ran for a patch upgrade: %s %v", s.Image, s.Args)
		return nil
	})
	yml = bytes.Replace(yml, []byte("# https related config\nhttps:"), []byte("https:"), 1)
	yml = bytes.Replace(yml, []byte("certificate: /your/certificate/path"), []byte("certificate: "+filepath.Join(f.installDir, "cert", "server.crt")), 1)
	yml = bytes.Replace(yml, []byte("private_key: /your/private/key/path"), []byte("private_key: "+filepath.Join(f.installDir, "cert", "server.key")), 1)
	if err := os.WriteFile(filepath.Join(f.oldDir, "harbor.yml"), yml, 0o640); err != nil {
		t.Fatal(err)
	}
	f.addOldFile(t, "cert/server.crt", []byte("CERT"), 0o644, 10000, 10000)
	f.addOldFile(t, "cert/server.key", []byte("KEY"), 0o600, 10000, 10000)

	if err := f.u.migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v\n%s", err, f.logText())
	}
	if f.eng.runs != 0 {
		t.Fatalf("%d containers ran", f.eng.runs)
	}
	got, err := os.ReadFile(filepath.Join(f.installDir, "harbor.yml"))
	if err != nil || !bytes.Equal(got, yml) {
		t.Errorf("harbor.yml not carried as it was (%v)", err)
	}
	if !strings.Contains(f.logText(), "harbor.yml: already at _version 1.10.0, no migration needed") {
		t.Errorf("log does not say why nothing ran:\n%s", f.logText())
	}
	for _, rel := range []string{"cert", "cert/server.crt", "cert/server.key"} {
		if want, got := ownerMode(t, filepath.Join(f.oldDir, rel)), ownerMode(t, filepath.Join(f.installDir, rel)); want != got {
			t.Errorf("%s carried as %s, was %s", rel, got, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(f.installDir, "cert", "server.key")); string(b) != "KEY" {
		t.Errorf("server.key carried as %q", b)
	}
	if _, err := os.Stat(filepath.Join(f.installDir, "install.sh")); err != nil {
		t.Errorf("installer not laid out: %v", err)
	}
}

// The real 1.10 migrator, run where bundle mounts it, migrates Harbor's real 1.8.6 and 1.9.4
// default files; the empty external_redis.password it turns into "None" is set back to empty.
func TestMigrateWithRealMigrator(t *testing.T) {
	redis := "\nexternal_redis:\n  host: redis.example.test\n  port: 6379\n  password:\n  registry_db_index: 1\n  jobservice_db_index: 2\n  chartmuseum_db_index: 3\n"
	for _, v := range []string{"v1.8.6", "v1.9.4"} {
		t.Run(v, func(t *testing.T) {
			old := append(realDefaultYML(t, v), redis...)
			f := newMigrateFixture(t, old, "1.10.0", realMigratorRun(t))
			if err := f.u.migrate(context.Background()); err != nil {
				t.Fatalf("migrate: %v\n%s", err, f.logText())
			}
			c, err := harbor.ReadConfig(filepath.Join(f.installDir, "harbor.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(filepath.Join(f.installDir, "harbor.yml")); err != nil || st.Mode().Perm() != 0o640 {
				t.Errorf("migrated harbor.yml mode %v (%v), want the old file's 0640: it holds passwords", st.Mode().Perm(), err)
			}
			if c.ConfigVersion() != "1.10.0" || c.Hostname() != "harbor.example.test" {
				t.Errorf("migrated: _version %q hostname %q", c.ConfigVersion(), c.Hostname())
			}
			if pw, ok := c.Get("external_redis", "password"); !ok || pw != "" {
				t.Errorf("external_redis.password = %q (present %v), want empty", pw, ok)
			}
			if h, _ := c.Get("external_redis", "host"); h != "redis.example.test" {
				t.Errorf("external_redis.host = %q", h)
			}
			if !strings.Contains(f.logText(), "external_redis.password") {
				t.Errorf("the fix is not logged:\n%s", f.logText())
			}
			if f.eng.runs != 1 {
				t.Errorf("%d migrator runs", f.eng.runs)
			}
		})
	}
}

// migratedResult takes what the real code wrote, wherever its rule put it, and nothing else.
func TestMigratedResult(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.yml"), filepath.Join(dir, "out.yml")
	before := []byte("hostname: h\n_version: 1.9.0\n")
	migrated := []byte("hostname: h\n_version: 1.10.0\n")
	cases := []struct {
		name       string
		input, out []byte
		want       string // result, or "error: <part of it>"
	}{
		{"written to the output file", before, migrated, string(migrated)},
		{"input rewritten in place, output left empty", migrated, nil, string(migrated)},
		{"nothing written", before, nil, "error: wrote no harbor.yml"},
		{"written at the old version", before, before, `error: says _version "1.9.0", not "1.10.0"`},
		{"not YAML", before, []byte("a: [\n"), "error: does not parse"},
	}
	for _, c := range cases {
		os.WriteFile(in, c.input, 0o600)
		os.WriteFile(out, c.out, 0o600)
		got, err := migratedResult(before, in, out, "1.10.0")
		switch want, isErr := strings.CutPrefix(c.want, "error: "); {
		case isErr && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", c.name, err, want)
		case !isErr && (err != nil || string(got) != want):
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
}

// The migrate step creates the output file before the run: only then does the real migrator
// write there instead of over its input.
func TestMigratorSpecOutputFileExists(t *testing.T) {
	old := realDefaultYML(t, "v1.9.4")
	var sawOut bool
	real := realMigratorRun(t)
	f := newMigrateFixture(t, old, "1.10.0", func(s RunSpec) error {
		for _, m := range s.Mounts {
			if m.Container == migratorOutDir {
				st, err := os.Stat(filepath.Join(m.Host, "harbor.yml"))
				sawOut = err == nil && st.Size() == 0
			}
		}
		return real(s)
	})
	if err := f.u.migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !sawOut {
		t.Error("harbor-cfg-out/harbor.yml did not exist (empty) when the migrator started")
	}
	if !strings.Contains(f.logText(), "Written new values to") || strings.Contains(f.logText(), "input file will be overwritten") {
		t.Errorf("the real migrator did not write to the output file:\n%s", f.logText())
	}
}

// realPrepareMigrateRun runs Harbor's real `prepare migrate` of release (harborreal) for a
// `docker run --network none -v /:/hostfs goharbor/prepare:<release> migrate -i IN -o OUT -t
// TARGET`, as Harbor's upgrade guide runs it: the host's root at /hostfs, where the real
// program's get_realpath resolves the host paths -i and -o.
func realPrepareMigrateRun(t *testing.T, release string) func(RunSpec) error {
	return func(s RunSpec) error {
		if len(s.Args) < 5 || s.Args[0] != "migrate" {
			return fmt.Errorf("prepare run as %v", s.Args)
		}
		var in, out, target string
		for i := 1; i+1 < len(s.Args); i++ {
			switch s.Args[i] {
			case "-i":
				in = s.Args[i+1]
			case "-o":
				out = s.Args[i+1]
			case "-t":
				target = s.Args[i+1]
			}
		}
		if len(s.Mounts) != 1 || s.Mounts[0] != (Mount{Host: "/", Container: "/hostfs"}) || s.Network != "none" {
			return fmt.Errorf("prepare run with mounts %+v, network %q; want -v /:/hostfs --network none", s.Mounts, s.Network)
		}
		for _, p := range []string{in, out} {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("%q is not a host path", p)
			}
		}
		input, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		res, err := harborreal.RunPrepareMigrate(context.Background(), release, input, target)
		if err != nil {
			t.Fatalf("running the real prepare migrate: %v", err)
		}
		fmt.Fprintf(s.Stdout, "[real prepare %s migrate: exit %d]\n%s", release, res.Exit, res.Log)
		if res.Out != nil {
			if err := os.WriteFile(out, res.Out, 0o644); err != nil {
				return err
			}
		}
		if res.Exit != 0 {
			return fmt.Errorf("prepare exit status %d", res.Exit)
		}
		return nil
	}
}

// 2.x: `prepare migrate -o` writes where it is told; the same checks apply to what it wrote.
func TestMigrateWithRealPrepare(t *testing.T) {
	f := newMigrateFixture(t, httpOnly(realDefaultYML(t, "v1.10.0")), "2.0.0", realPrepareMigrateRun(t, "v2.0.6"))
	f.u.manifest.Release = "v2.0.6"
	f.u.manifest.Migration = payload.Migration{Method: harbor.MethodPrepare, Image: "goharbor/prepare:v2.0.6", Args: []string{"migrate"}}
	if err := f.u.migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v\n%s", err, f.logText())
	}
	c, err := harbor.ReadConfig(filepath.Join(f.installDir, "harbor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigVersion() != "2.0.0" || c.Hostname() != "harbor.example.test" {
		t.Errorf("migrated: _version %q hostname %q", c.ConfigVersion(), c.Hostname())
	}
	if f.eng.runs != 1 {
		t.Errorf("%d prepare runs", f.eng.runs)
	}
}

// httpOnly comments out the https block, as the install guide asks when there is no
// certificate (1.10's default file has it on, with placeholder paths real prepare refuses).
func httpOnly(yml []byte) []byte {
	lines := strings.SplitAfter(string(yml), "\n")
	in := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "https:"):
			in = true
		case in && !strings.HasPrefix(l, " "):
			in = false
		}
		if in {
			lines[i] = "# " + l
		}
	}
	return []byte(strings.Join(lines, ""))
}
