package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleasesHelpGolden(t *testing.T) {
	code, out, errOut := runTool(t, "releases", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkGolden(t, "releases.help.golden", []byte(out))
}

func TestReleasesList(t *testing.T) {
	code, out, errOut := runTool(t, "releases")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"VERSION   UPGRADES FROM  ",
		"  POSTGRESQL  COMPONENTS  ",
		"\nv1.10.0   1.8.x, 1.9.x  ",
		"\nv1.8.0    1.6.x, 1.7.x  ",
		"\nv2.0.0    1.9.x, 1.10.x  ",
		"\nv2.15.2   2.13.x, 2.14.x  ",
		"  prepare-migrate  15 -> 18    trivy  ",
		"  prepare-migrate  9.6 -> 13   notary, chartmuseum, trivy  ",
		"  harbor-migrator  9.6         notary, clair, chartmuseum  ",
		"  notary, chartmuseum, trivy         clair\n",
		"  notary, trivy                      chartmuseum\n",
		"  trivy                              notary\n",
		"\n117 releases.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "v1.9.4") > strings.Index(out, "v1.10.0") {
		t.Error("list is not in version order")
	}

	code, out, _ = runTool(t, "releases", "-o", "json")
	var views []releaseView
	if code != 0 || json.Unmarshal([]byte(out), &views) != nil || len(views) < 40 {
		t.Fatalf("json list: exit %d, %d releases", code, len(views))
	}
	if views[0].Version != "v1.8.0" || views[0].Migration.Args[0] != "--cfg" {
		t.Errorf("first release %+v", views[0])
	}
	last := views[len(views)-1]
	if last.Version != "v2.15.2" || last.Postgres.Step != "15 -> 18" || last.Postgres.DataDir != "database/pg18" ||
		last.Postgres.UpgradeDir != "database/pg15" || strings.Join(last.Postgres.EntrypointArgs, ",") != "15,18" {
		t.Errorf("last release %+v", last.Postgres)
	}
}

func TestReleasesShowPostgresAndDrops(t *testing.T) {
	cases := map[string][]string{
		"v2.3.0": {
			"PostgreSQL:           13 in database/pg13; upgrades 9.6 data in database, then deletes it (harbor-db [\"96\" \"13\"])\n",
			"Refused flags:        --with-clair (install.sh exits 1)\n",
			"Images (15, inferred from v2.3.5):",
		},
		"v2.2.4": {
			"PostgreSQL:           9.6 in database; upgrades no older major (harbor-db no arguments)\n",
			"Drops clair:          Clair vulnerability scanning",
			"Images (15, from its Makefile):",
		},
		"v2.9.1":  {"Drops notary:         content trust", "PostgreSQL:           14 in database/pg14; upgrades 13 data in database/pg13"},
		"v2.7.4":  {"PostgreSQL:           13 in database/pg13; upgrades no older major (harbor-db [\"\" \"13\"])\n"},
		"v2.1.6":  {"harbor.yml _version:  2.1.0 (its installer's template says 2.0.0)\n"},
		"v2.5.4":  {"Compose:              the docker compose plugin when `docker compose version` works, else docker-compose >= 1.18.0\n"},
		"v2.5.3":  {"Compose:              docker-compose >= 1.18.0 (install.sh does not use the docker compose plugin)\n"},
		"v1.10.3": {"Images (16, from the release record):", "Released:             2020-06-04\n"},
	}
	for v, wants := range cases {
		code, out, _ := runTool(t, "releases", v)
		for _, want := range wants {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("%s: exit %d; output lacks %q:\n%s", v, code, want, out)
			}
		}
	}
	code, out, _ := runTool(t, "releases", "-o", "json", "v2.8.0")
	var v releaseView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	if len(v.Drops) != 1 || v.Drops[0].Component != "chartmuseum" || !strings.Contains(v.Drops[0].Lost, "chart_storage") ||
		strings.Join(v.RefusedFlags, ",") != "--with-clair" || v.Postgres.Major != "13" || v.Postgres.UpgradesFrom != "" ||
		!v.Compose.Plugin || v.Date != "2023-04-13" {
		t.Errorf("v2.8.0 json %+v", v)
	}
}

func TestReleasesShowOne(t *testing.T) {
	code, out, _ := runTool(t, "releases", "1.10.0")
	for _, want := range []string{
		"Harbor release:       v1.10.0\n",
		"Migration:            harbor-migrator (goharbor/harbor-migrator:v1.10.0 --cfg up)\n",
		"install.sh flags:     --with-notary --with-clair --with-chartmuseum\n",
		"https://github.com/goharbor/harbor/releases/download/v1.10.0/harbor-offline-installer-v1.10.0.tgz\n",
		"  clair        goharbor/clair-adapter-photon:v1.0.1-v1.10.0\n",
		"Images (16, from its Makefile):",
		"PostgreSQL:           9.6 in database; upgrades no older major (harbor-db no arguments)\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d; output lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runTool(t, "releases", "-o", "json", "v2.0.0")
	var v releaseView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	if v.Migration.Image != "goharbor/prepare:v2.0.0" || v.Installer.OnlineSignature != v.Installer.OnlineURL+".asc" ||
		strings.Join(v.Components, ",") != "notary,clair,chartmuseum,trivy" || len(v.Images) != 16 {
		t.Errorf("v2.0.0 json %+v", v)
	}
}

func TestReleasesCatalogFlag(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra.yaml")
	err := os.WriteFile(extra, []byte(`releases:
  - version: v1.10.0
    config_version: 1.10.0
    upgrade_from: [1.9.x]
    install_flags: []
    migration: {method: harbor-migrator}
    images:
      - {repository: mirror.local/goharbor/prepare, component: prepare}
      - {repository: mirror.local/goharbor/harbor-core, component: core}
      - {repository: mirror.local/goharbor/harbor-portal, component: core}
      - {repository: mirror.local/goharbor/harbor-jobservice, component: core}
      - {repository: mirror.local/goharbor/harbor-log, component: core}
      - {repository: mirror.local/goharbor/harbor-db, component: core}
      - {repository: mirror.local/goharbor/harbor-registryctl, component: core}
      - {repository: mirror.local/goharbor/registry-photon, component: core}
      - {repository: mirror.local/goharbor/redis-photon, component: core}
      - {repository: mirror.local/goharbor/nginx-photon, component: core}
      - {repository: mirror.local/goharbor/harbor-migrator, component: migrator}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runTool(t, "releases", "--catalog", extra, "v1.10.0")
	if code != 0 || !strings.Contains(out, "mirror.local/goharbor/harbor-migrator:v1.10.0 --cfg up") || !strings.Contains(out, "Images (11)") {
		t.Errorf("override: exit %d %s\n%s", code, errOut, out)
	}
}

func TestReleasesRefusals(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("releases:\n  - version: v9.9.9\n    bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"releases", "v1.10.99"}, `unknown Harbor release "v1.10.99"; did you mean v1.10.17, v1.10.18, v1.10.19?`},
		{[]string{"releases", "-o", "yaml"}, `-o "yaml": want text or json`},
		{[]string{"releases", "--catalog", bad}, "invalid catalog " + bad + ": "},
		{[]string{"releases", "--catalog", filepath.Join(t.TempDir(), "none.yaml")}, "no such file"},
		{[]string{"releases", "v1.10.0", "v1.9.4"}, "releases takes at most one VERSION"},
		{[]string{"releases", "--bogus"}, "unknown flag: --bogus"},
	}
	for _, tc := range cases {
		code, out, errOut := runTool(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, errOut, tc.want)
		}
	}
}
