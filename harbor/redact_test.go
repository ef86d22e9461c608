package harbor

import (
	"strings"
	"testing"
)

var secrets = []string{"Harbor12345", "root123", "s3cr3t-redis", "AKIAEXAMPLE", "wJalrXUtnFEMI", "ghp_token123", "uaa-pass", "ldap-pass"}

const secretDoc = `hostname: reg.example.com
harbor_admin_password: Harbor12345
database:
  password: root123   # trailing comment
external_redis:
  host: redis:6379
  password: "s3cr3t-redis"
storage_service:
  s3: {accesskey: AKIAEXAMPLE, secretkey: wJalrXUtnFEMI, region: us-east-1}
trivy:
  github_token: ghp_token123
uaa:
  client_secret: |
    uaa-pass
    uaa-pass
https:
  private_key: /your/private/key/path
  certificate: /your/certificate/path
list:
  - password: ldap-pass
`

func TestRedactedConfig(t *testing.T) {
	c, err := ParseConfig([]byte(secretDoc))
	must(t, err)
	out, err := c.Redacted()
	must(t, err)
	checkRedacted(t, "Redacted", string(out))
	if !strings.Contains(string(out), "# trailing comment") {
		t.Error("comment lost")
	}
	if pw, _ := c.Get("database", "password"); pw != "root123" {
		t.Error("Redacted changed the Config itself")
	}
	if _, err := ParseConfig(out); err != nil {
		t.Errorf("redacted output does not parse: %v", err)
	}
}

func TestRedactBytes(t *testing.T) {
	out := string(Redact([]byte(secretDoc)))
	checkRedacted(t, "Redact", out)
	if !strings.Contains(out, "  password: <redacted>\n") || !strings.Contains(out, "region: us-east-1}") {
		t.Errorf("layout not kept:\n%s", out)
	}
	cfg := "db_password = root123\nsecretkey_path = /data\nldap_search_pwd = ldap-pass\nhostname = reg\r\nclair_db_password=s3cr3t-redis\n"
	got := string(Redact([]byte(cfg)))
	for _, s := range []string{"root123", "ldap-pass", "s3cr3t-redis"} {
		if strings.Contains(got, s) {
			t.Errorf("harbor.cfg: %q left in\n%s", s, got)
		}
	}
	if !strings.Contains(got, "secretkey_path = /data\n") || !strings.Contains(got, "hostname = reg\r\n") {
		t.Errorf("harbor.cfg: non-secrets changed\n%s", got)
	}
	// A real default file: only the two secrets change.
	orig := raw(t, "harbor-v1.10.0.yml")
	red := string(Redact([]byte(orig)))
	if strings.Contains(red, "Harbor12345") || strings.Contains(red, "root123") || len(strings.Split(red, "\n")) != len(strings.Split(orig, "\n")) {
		t.Errorf("default file not redacted line for line")
	}
}

func checkRedacted(t *testing.T, name, out string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s: secret %q left in:\n%s", name, s, out)
		}
	}
	for _, keep := range []string{"reg.example.com", "/your/private/key/path", "redis:6379", "us-east-1"} {
		if !strings.Contains(out, keep) {
			t.Errorf("%s: %q was redacted too", name, keep)
		}
	}
	if !strings.Contains(out, Redacted) {
		t.Errorf("%s: no %s marker", name, Redacted)
	}
}
