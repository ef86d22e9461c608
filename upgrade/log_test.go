package upgrade

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunLogHidesHarborYmlSecrets(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "harbor.yml")
	os.WriteFile(yml, []byte("harbor_admin_password: S3cret-Adm1n\ndatabase:\n  password: db-Pa55\n  max_open_conns: 100\n"), 0o644)
	l := newRunLog()
	// Written before the secrets are known (the preflight's commands) ...
	l.Write([]byte("$ docker container inspect x\n\"Env\": [\"POSTGRES_PASSWORD=db-Pa55\"]\n"))
	l.hideSecretsOf(yml)
	logPath := filepath.Join(dir, LogName)
	if err := l.attach(logPath); err != nil {
		t.Fatal(err)
	}
	// ... and after, in any shape.
	l.Write([]byte("admin password is S3cret-Adm1n\nharbor_admin_password: whatever\n"))
	l.Close()
	b, _ := os.ReadFile(logPath)
	for _, s := range []string{"S3cret-Adm1n", "db-Pa55", "whatever"} {
		if strings.Contains(string(b), s) {
			t.Errorf("log contains %q:\n%s", s, b)
		}
	}
	if !strings.Contains(string(b), "docker container inspect") || !strings.Contains(string(b), "<redacted>") {
		t.Errorf("log lost its content:\n%s", b)
	}
	if st, _ := os.Stat(logPath); st.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v", st.Mode())
	}
}
