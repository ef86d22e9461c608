package upgrade

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installFiles names every file harbor.yml points at inside the install dir (the keys prepare
// reads and any other path there), refuses keys that point nowhere, and leaves files outside
// alone.
func TestInstallFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "harbor")
	outside := filepath.Join(root, "etc-cert.pem")
	for _, p := range []string{filepath.Join(dir, "cert", "a.crt"), filepath.Join(dir, "cert", "a.key"), filepath.Join(dir, "ca", "bundle.pem"), filepath.Join(dir, "gcs.json"), outside} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	good := `hostname: h
https:
  port: 443
  certificate: ` + dir + `/cert/a.crt
  private_key: ` + dir + `/cert/../cert/a.key
storage_service:
  ca_bundle: ` + dir + `/ca/bundle.pem
  gcs:
    keyfile: ` + dir + `/gcs.json
uaa:
  ca_file: ` + outside + `
log:
  local:
    location: ` + dir + `/logs
data_volume: /data
_version: 1.9.0
`
	files, err := installFiles([]byte(good), dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := describeFiles(files)
	want := "https.certificate " + dir + "/cert/a.crt, https.private_key " + dir + "/cert/a.key, storage_service.ca_bundle " + dir + "/ca/bundle.pem, storage_service.gcs.keyfile " + dir + "/gcs.json"
	if got != want {
		t.Errorf("files:\n got %s\nwant %s", got, want)
	}

	bad := `hostname: h
https:
  certificate: ` + dir + `/cert/missing.crt
  private_key: /nowhere/key.pem
uaa:
  ca_file: ` + dir + `/cert
data_volume: ` + dir + `/data
_version: 1.9.0
`
	_, err = installFiles([]byte(bad), dir, dir)
	if err == nil {
		t.Fatal("missing files accepted")
	}
	for _, want := range []string{"https.certificate " + dir + "/cert/missing.crt does not exist", "https.private_key /nowhere/key.pem does not exist",
		"uaa.ca_file " + dir + "/cert is a directory", "data_volume " + dir + "/data is inside the install dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	// A path into the install dir through a symbolic link is refused: it would not be carried.
	link := filepath.Join(root, "opt-harbor")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	viaLink := "hostname: h\nuaa:\n  ca_file: " + link + "/cert/a.crt\n_version: 1.9.0\n"
	if _, err := installFiles([]byte(viaLink), dir, dir); err == nil || !strings.Contains(err.Error(), "uaa.ca_file "+link+"/cert/a.crt reaches into the install dir "+dir+" through a symbolic link") {
		t.Errorf("path through a symlink: %v", err)
	}

	// After the backup, the same harbor.yml is checked against the install dir's copy.
	moved := filepath.Join(root, "backup", "harbor")
	os.MkdirAll(filepath.Dir(moved), 0o755)
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	files, err = installFiles([]byte(good), dir, moved)
	if err != nil || len(files) != 4 {
		t.Errorf("in the backup: %d files, %v", len(files), err)
	}
}

// The plan names the files, or says in one line that no migration runs.
func TestMigrateText(t *testing.T) {
	p := &Plan{To: "v1.10.1", ConfigVersion: "1.10.0", Install: &Install{Dir: "/opt/harbor", ConfigVersion: "1.10.0"},
		InstallFiles: []InstallFile{{Key: "https.certificate", Path: "/opt/harbor/cert/a.crt", Rel: "cert/a.crt"}}}
	got := migrateText(p, "goharbor/harbor-migrator:v1.10.1")
	for _, want := range []string{"harbor.yml: already at _version 1.10.0, no migration needed", "carry from the backup: https.certificate /opt/harbor/cert/a.crt"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "harbor-migrator") {
		t.Errorf("names a migrator that does not run: %s", got)
	}
	p.Install.ConfigVersion = "1.9.0"
	if got := migrateText(p, "goharbor/harbor-migrator:v1.10.1"); !strings.Contains(got, "migrate harbor.yml 1.9.0 -> 1.10.0 with goharbor/harbor-migrator:v1.10.1") {
		t.Errorf("migration: %s", got)
	}
}
