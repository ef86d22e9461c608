package roles

import (
	"os"
	"strings"
	"testing"
)

// TestPrepare2ValidateAsReal: for harbor.yml files the real validate() (utils/configs.py of the
// line, run in python) refuses, the fake prepare prints "Error happened in config
// validation...", logs the same message and exits 255 (sys.exit(-1)); for those it accepts, the
// fake goes on (and then writes docker-compose.yml).
func TestPrepare2ValidateAsReal(t *testing.T) {
	type edit struct{ old, new string }
	cases := []struct {
		name   string
		folder string
		https  bool
		flags  []string
		edits  []edit
	}{
		{"placeholder hostname", "v2.15.2", false, nil, []edit{{"hostname: harbor.test", "hostname: reg.mydomain.com"}}},
		{"loopback hostname", "v2.9.5", false, nil, []edit{{"hostname: harbor.test", "hostname: 127.0.0.1"}}},
		{"placeholder certificate", "v2.13.5", true, nil, []edit{{"certificate: /etc/fake/server.crt", "certificate: /your/certificate/path"}}},
		{"empty private key", "v2.5.6", true, nil, []edit{{"private_key: /etc/fake/server.key", "private_key:"}}},
		// The real check compares the key with the CERTIFICATE's placeholder: the key's own
		// placeholder passes validate() (and fails later, copying the file).
		{"key placeholder passes", "v2.11.2", true, nil, []edit{{"private_key: /etc/fake/server.key", "private_key: /your/private/key/path"}}},
		{"notary over http", "v2.4.3", false, []string{"notary"}, nil},
		{"notary over http 2.0", "v2.0.6", false, []string{"notary", "clair"}, nil},
		{"notary over https", "v2.8.6", true, []string{"notary"}, nil},
		{"missing ca_bundle", "v2.10.3", false, nil, []edit{{"\n# storage_service:\n", "\nstorage_service:\n  ca_bundle: /etc/fake/missing.pem\n"}}},
		{"readable ca_bundle", "v2.14.4", false, nil, []edit{{"\n# storage_service:\n", "\nstorage_service:\n  ca_bundle: /etc/fake/server.crt\n"}}},
		{"ca_bundle only root can read", "v2.6.4", false, nil, []edit{{"\n# storage_service:\n", "\nstorage_service:\n  ca_bundle: /etc/fake/private.pem\n"}}},
		{"external log endpoint protocol", "v2.12.4", false, nil, []edit{{"\n  # configs for logs in local storage\n  local:\n", "\n  external_endpoint:\n    protocol: http\n    host: logs.test\n    port: 514\n  local:\n"}}},
		{"plain", "v2.3.5", false, []string{"trivy"}, nil},
	}
	refusals := 0
	for _, c := range cases {
		yml := line2xYML(t, c.folder, c.https, false)
		for _, e := range c.edits {
			if !strings.Contains(yml, e.old) {
				t.Fatalf("%s: %s's harbor.yml.tmpl has no %q", c.name, c.folder, e.old)
			}
			yml = strings.Replace(yml, e.old, e.new, 1)
		}
		e := prepare2Env(t, c.folder, yml)
		e.write(prepareHostfs+"/etc/fake/private.pem", "ca\n")
		if err := os.Chmod(e.path(prepareHostfs+"/etc/fake/private.pem"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Both look the file up in the same /hostfs tree.
		real := runRealCompose(t, c.folder, c.folder, yml, c.flags, e.path(prepareHostfs))
		args := []string{"prepare", "prepare"}
		for _, f := range c.flags {
			args = append(args, "--with-"+f)
		}
		code := e.run(args...)
		out := e.output()
		if real.validation != "" {
			refusals++
			if code != exitValidation || !strings.Contains(out, "Error happened in config validation...") || !strings.Contains(out, "ERROR:root:"+real.validation+"\n") {
				t.Errorf("%s (%s): real validate refuses %q; fake exit %d\n%s", c.name, c.folder, real.validation, code, out)
			}
			continue
		}
		if code == exitValidation || strings.Contains(out, "Error happened in config validation") {
			t.Errorf("%s (%s): real validate accepts; fake refused\n%s", c.name, c.folder, out)
		}
	}
	if refusals < 7 {
		t.Errorf("only %d of the cases are refused by the real validate(); the test lost its point", refusals)
	}
}
