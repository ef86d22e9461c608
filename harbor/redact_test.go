package harbor

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
	"gopkg.in/yaml.v3"
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

// No secret value of any corpus case survives redaction, by either redactor; the values are
// found in the case first, so the test cannot pass by finding nothing.
func TestRedactCorpus(t *testing.T) {
	harborreal.RequireRoot(t)
	cases, err := harborreal.Corpus()
	must(t, err)
	secretNames := map[string]bool{"password": true, "harbor_admin_password": true, "secretkey": true, "accesskey": true,
		"accountkey": true, "accesskeysecret": true, "client_secret": true}
	proxyPw := regexp.MustCompile(`://[^:/@\s]+:([^@\s]+)@`)
	found := 0
	for _, tc := range cases {
		var doc any
		must(t, yaml.Unmarshal(tc.YAML, &doc))
		var secrets []string
		var walk func(v any, key string)
		walk = func(v any, key string) {
			switch v := v.(type) {
			case map[string]any:
				for k, c := range v {
					walk(c, k)
				}
			case []any:
				for _, c := range v {
					walk(c, key)
				}
			case string:
				if secretNames[key] && len(v) >= 4 {
					secrets = append(secrets, v)
				}
				for _, m := range proxyPw.FindAllStringSubmatch(v, -1) {
					secrets = append(secrets, m[1])
				}
			}
		}
		walk(doc, "")
		c, err := ParseConfig(tc.YAML)
		must(t, err)
		structured, err := c.Redacted()
		must(t, err)
		lines := Redact(tc.YAML)
		for _, s := range secrets {
			if !bytes.Contains(tc.YAML, []byte(s)) && !bytes.Contains(tc.YAML, []byte(strings.ReplaceAll(s, `"`, `\"`))) {
				continue // written escaped; the value is still checked below through its other forms
			}
			found++
			if bytes.Contains(structured, []byte(s)) {
				t.Errorf("%s: Redacted() keeps secret %q", tc.Name, s)
			}
			if bytes.Contains(lines, []byte(s)) {
				t.Errorf("%s: Redact() keeps secret %q", tc.Name, s)
			}
		}
	}
	if found < 40 {
		t.Errorf("only %d secret values found in the corpus; the test is not exercising redaction", found)
	}
	t.Logf("%d secret values checked", found)
}

func TestRedactProxyURLAndInlineKeyfile(t *testing.T) {
	doc := "proxy:\n  http_proxy: http://svc:Pr0xy@proxy:3128\n  https_proxy: \"https://u:p%40ss@proxy:3128\"\n" +
		"storage_service:\n  gcs:\n    keyfile: |\n      {\"private_key\": \"-----BEGIN PRIVATE KEY-----abc\"}\n    bucket: b\n  azure: {accountname: a, accountkey: AzKey==}\n"
	c, err := ParseConfig([]byte(doc))
	must(t, err)
	structured, err := c.Redacted()
	must(t, err)
	for name, out := range map[string]string{"Redacted": string(structured), "Redact": string(Redact([]byte(doc)))} {
		for _, s := range []string{"Pr0xy", "p%40ss", "BEGIN PRIVATE KEY", "AzKey"} {
			if strings.Contains(out, s) {
				t.Errorf("%s keeps %q:\n%s", name, s, out)
			}
		}
		if !strings.Contains(out, "http://svc:***@proxy:3128") || !strings.Contains(out, "bucket: b") {
			t.Errorf("%s redacted too much or not as user:***@host:\n%s", name, out)
		}
	}
}
