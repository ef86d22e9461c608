package upgrade

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

// trustKeys is a key pair written as `bundle keygen` writes it.
type trustKeys struct{ pub, sec string }

func newTrustKeys(t *testing.T, dir, name string) trustKeys {
	t.Helper()
	pub, sec, err := sign.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	k := trustKeys{pub: filepath.Join(dir, name+".pub"), sec: filepath.Join(dir, name+".key")}
	if err := sign.WriteKeyPair(pub, sec, k.pub, k.sec, false); err != nil {
		t.Fatal(err)
	}
	return k
}

// buildSigned runs `bundle build --sign-key` against the fake Harbor's registry and installer.
func buildSigned(t *testing.T, bundleBin string, srv *fakeharbor.Server, cache, out string, key trustKeys) {
	t.Helper()
	t0 := time.Now()
	cmd := exec.Command(bundleBin, "build", "v1.10.0", "-q", "--sign-key", key.sec, "-o", out,
		"--registry", srv.RegistryAddr, "--insecure-registry", "--installer", srv.InstallerURL("v1.10.0", false),
		"--cache", cache)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bundle build --sign-key: %v\n%s", err, b)
	}
	t.Logf("built %s signed by %s in %s", filepath.Base(out), filepath.Base(key.sec), time.Since(t0).Round(time.Millisecond))
}

// runCmd runs a command and returns its exit status and combined output.
func runCmd(t *testing.T, name string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("running %s: %v", name, err)
	}
	return 0, string(out)
}

// withTrailer copies run to dst with its trailer edited (and its checksum recomputed, so that
// only the edited fields are wrong).
func withTrailer(t *testing.T, run, dst string, edit func(tr *selfextract.Trailer, size uint64)) {
	t.Helper()
	sb, err := selfextract.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	tr := sb.Trailer
	sb.Close()
	copyRun(t, run, dst, func(b []byte) []byte {
		edit(&tr, uint64(len(b)))
		raw, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		copy(b[len(b)-selfextract.TrailerSize:], raw)
		return b
	})
}

// TestE2ETrustedKey: a bundle built with `bundle build --sign-key` verifies in minisign and in
// bundle; one byte changed fails both; a trailer pointing outside its file is refused by
// `bundle verify` in one line. Then, on one fake Harbor, with a trusted key given by --key: an
// unsigned bundle, a bundle signed by another key and one with a hostile trailer are refused
// (exit 2) before any change to the install dir, data_volume, images or containers, while the
// bundle signed by the trusted key passes every check (dry run).
func TestE2ETrustedKey(t *testing.T) {
	if _, err := exec.LookPath("minisign"); err != nil {
		t.Fatalf("minisign is needed by this test (Debian's minisign package, make tools): %v", err)
	}
	unsigned := bundleRun(t)
	bundleBin := filepath.Join(filepath.Dir(unsigned), "bundle")
	dir := t.TempDir()
	trusted, other := newTrustKeys(t, dir, "trusted"), newTrustKeys(t, dir, "other")
	srv, err := fakeharbor.Start(context.Background(), fakeharbor.Options{Versions: []string{"v1.10.0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cache := filepath.Join(dir, "cache")
	signed, otherSigned := filepath.Join(dir, "signed.run"), filepath.Join(dir, "other.run")
	buildSigned(t, bundleBin, srv, cache, signed, trusted)
	buildSigned(t, bundleBin, srv, cache, otherSigned, other)

	if code, out := runCmd(t, "minisign", "-Vm", signed, "-p", trusted.pub); code != 0 {
		t.Errorf("minisign -Vm %s: exit %d\n%s", signed, code, out)
	}
	if code, out := runCmd(t, bundleBin, "verify", "--key", trusted.pub, signed); code != 0 {
		t.Errorf("bundle verify --key of the signed bundle: exit %d\n%s", code, out)
	}
	// The fake's installer has no .asc: inspect says so (builder's TestInstallerProvenance
	// covers good and bad gpg signatures).
	if code, out := runCmd(t, bundleBin, "inspect", signed); code != 0 || !strings.Contains(out, "Installer sig:") || !strings.Contains(out, "none") {
		t.Errorf("bundle inspect does not show the installer's signature state: exit %d\n%s", code, out)
	}
	if code, out := runCmd(t, bundleBin, "verify", "--key", trusted.pub, otherSigned); code != 2 {
		t.Errorf("bundle verify --key of a bundle signed by another key: exit %d\n%s", code, out)
	}

	sb, err := selfextract.Open(signed)
	if err != nil {
		t.Fatal(err)
	}
	tr := sb.Trailer
	sb.Close()
	for name, at := range map[string]uint64{
		"stub":     tr.PayloadOffset / 2,
		"payload":  tr.PayloadOffset + tr.PayloadLength/2,
		"manifest": tr.PayloadOffset + tr.ManifestOffset + tr.ManifestLength/2,
	} {
		bad := filepath.Join(dir, "bad-"+name+".run")
		copyRun(t, signed, bad, func(b []byte) []byte { b[at] ^= 0x01; return b })
		if code, out := runCmd(t, "minisign", "-Vm", bad, "-x", signed+".minisig", "-p", trusted.pub); code == 0 {
			t.Errorf("minisign accepted a byte changed in the %s:\n%s", name, out)
		}
		if code, out := runCmd(t, bundleBin, "verify", "--key", trusted.pub, bad); code != 2 {
			t.Errorf("bundle verify --key accepted a byte changed in the %s: exit %d\n%s", name, code, out)
		}
	}

	outside := filepath.Join(dir, "outside.run")
	for name, edit := range map[string]func(tr *selfextract.Trailer, size uint64){
		"payload past the end": func(tr *selfextract.Trailer, size uint64) { tr.PayloadLength = size * 1000 },
		"manifest past the payload": func(tr *selfextract.Trailer, size uint64) {
			tr.ManifestOffset = tr.PayloadLength + 4096
		},
		"1 TB manifest": func(tr *selfextract.Trailer, size uint64) { tr.ManifestLength = 1 << 40 },
	} {
		withTrailer(t, unsigned, outside, edit)
		code, out := runCmd(t, bundleBin, "verify", outside)
		t.Logf("bundle verify, %s: exit %d: %s", name, code, strings.TrimSpace(out))
		if code != 2 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "trailer") {
			t.Errorf("bundle verify, trailer with %s: want exit 2 and one line, got exit %d\n%s", name, code, out)
		}
	}
	withTrailer(t, unsigned, outside, func(tr *selfextract.Trailer, size uint64) { tr.PayloadLength = size * 1000 })

	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4"}) // takes the e2e lock
	backup := filepath.Join(h.Parent, "backups")
	cases := []struct {
		name, run string
		args      []string
		code      int
		want      string
	}{
		{"unsigned", unsigned, []string{"--yes"}, 2, "unsigned"},
		{"signed by another key", otherSigned, []string{"--yes"}, 2, "signature"},
		{"trailer outside the file", outside, []string{"--yes"}, 2, "trailer"},
		{"signed by the trusted key", signed, []string{"--dry-run"}, 0, "Dry run: every check passed"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			before := snapshot(t, h)
			res := runBundle(t, c.run, append(c.args, "--key", trusted.pub, "--backup-dir", backup)...)
			if res.code != c.code || !strings.Contains(strings.ToLower(res.stdout+res.stderr), strings.ToLower(c.want)) {
				t.Errorf("want exit %d mentioning %q, got %s", c.code, c.want, res)
			}
			t.Logf("stderr: %s", strings.TrimSpace(res.stderr))
			assertUnchanged(t, before, snapshot(t, h))
			if js, _ := Journals(backup); len(js) > 0 {
				t.Errorf("a refusal left a journal: %s", js[0].ID)
			}
		})
	}
}

// TestE2ESecretsAndShellMetacharacters upgrades a fake Harbor whose harbor.yml holds known
// passwords made of shell metacharacters ($(...), backticks, ;, |): nothing is executed (the
// marker files never appear), the values reach the migrated harbor.yml unchanged, and neither
// they nor the secretkey appear in stdout, stderr, the -o json report, the log, the journal or
// any other file bundle writes next to the backup. The log is 0600, the backup dir 0700, and
// backed-up secrets keep their modes.
func TestE2ESecretsAndShellMetacharacters(t *testing.T) {
	run := bundleRun(t)
	markers := t.TempDir()
	admin := "Adm1n$(touch " + markers + "/dollar)"
	db := "Db9x`touch " + markers + "/backtick`;touch " + markers + "/semicolon|sh"
	h := fakeharbor.Install(t, fakeharbor.InstallOptions{Version: "v1.9.4"}) // takes the e2e lock
	cfgPath := filepath.Join(h.Dir, "harbor.yml")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(orig), "harbor_admin_password: Harbor12345\n", "harbor_admin_password: "+admin+"\n", 1)
	cfg = strings.Replace(cfg, "  password: root123\n", "  password: "+db+"\n", 1)
	if strings.Contains(cfg, "Harbor12345") || strings.Contains(cfg, "root123") {
		t.Fatalf("harbor.yml still holds a default password:\n%s", cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	secretkeyPath := filepath.Join(h.DataVolume, "secret", "keys", "secretkey")
	secretkey, err := os.ReadFile(secretkeyPath)
	if err != nil || len(strings.TrimSpace(string(secretkey))) < 8 {
		t.Fatalf("reading the secretkey: %q %v", secretkey, err)
	}
	secrets := map[string]string{"admin password": admin, "database password": db, "secretkey": strings.TrimSpace(string(secretkey))}

	backup := filepath.Join(h.Parent, "backups")
	dry := runBundle(t, run, "--dry-run", "--backup-dir", backup, "-o", "json")
	if dry.code != 0 {
		t.Fatalf("dry run: %s", dry)
	}
	t0 := time.Now()
	res := runBundle(t, run, "--yes", "--backup-dir", backup, "--health-timeout", "4m", "-o", "json")
	t.Logf("upgrade took %s", time.Since(t0).Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("upgrade failed: %s", res)
	}
	jsonReport(t, res.stdout)
	if left := listNames(t, markers); len(left) > 0 {
		t.Errorf("a value of harbor.yml was executed: %v appeared", left)
	}
	c, err := harbor.ReadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get("harbor_admin_password"); got != admin {
		t.Errorf("migrated harbor_admin_password %q; want %q", got, admin)
	}
	if got, _ := c.Get("database", "password"); got != db {
		t.Errorf("migrated database.password %q; want %q", got, db)
	}
	if c.ConfigVersion() != "1.10.0" {
		t.Errorf("harbor.yml not migrated: _version %q", c.ConfigVersion())
	}

	j := readJournalOf(t, backup)
	outputs := map[string]string{"stdout (-o json)": res.stdout, "stderr": res.stderr, "dry run -o json": dry.stdout + dry.stderr}
	status := runBundle(t, run, "status", "--backup-dir", backup, "-o", "json")
	outputs["status -o json"] = status.stdout + status.stderr
	files, err := os.ReadDir(j.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files { // the log, the journal, the tree manifests; not the backed-up trees
		if f.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(j.Dir(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			outputs[f.Name()] = string(b)
		}
	}
	for _, must := range []string{LogName, JournalName} {
		if _, ok := outputs[must]; !ok {
			t.Errorf("no %s in %s", must, j.Dir())
		}
	}
	for where, text := range outputs {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in %s", what, where)
			}
		}
	}
	t.Logf("grepped %d outputs for %d secrets", len(outputs), len(secrets))
	// Controls: the grep finds the passwords where they belong (the backed-up harbor.yml, and
	// the config prepare generated from the migrated one), so the zero hits above mean something.
	for _, p := range []string{filepath.Join(j.Dir(), "harbor", "harbor.yml"), filepath.Join(h.Dir, "common", "config", "db", "env")} {
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), db) {
			t.Errorf("%s lacks the database password (%v)", p, err)
		}
	}
	if !strings.Contains(outputs[LogName], "install.sh") {
		t.Errorf("the log lacks the commands run:\n%s", outputs[LogName])
	}

	for path, want := range map[string]os.FileMode{j.Dir(): 0o700, filepath.Join(j.Dir(), LogName): 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, st.Mode().Perm(), want, err)
		}
	}
	origKey, _ := os.Stat(secretkeyPath)
	if st, err := os.Stat(filepath.Join(j.Dir(), "secret", "keys", "secretkey")); err != nil || st.Mode().Perm() != origKey.Mode().Perm() {
		t.Errorf("backed-up secretkey mode %v, original %v (%v)", st.Mode().Perm(), origKey.Mode().Perm(), err)
	}
}

func listNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
