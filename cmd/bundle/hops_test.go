package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/internal/harborreal"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
)

// TestReleasesPathGolden: the chain from 1.10.0 and from every 1.8 patch to 2.15.2, text and
// JSON, as golden files; the JSON is also read back and every chain ends at the target.
func TestReleasesPathGolden(t *testing.T) {
	for _, tc := range []struct{ golden, from, to, format string }{
		{"releases.path.golden", "1.10.0", "v2.15.2", "text"},
		{"releases.path-line.golden", "1.8", "2.4.3", "text"},
		{"releases.path.json.golden", "v2.2.4", "v2.15.2", "json"},
	} {
		code, out, errOut := runTool(t, "releases", "--path", tc.from, tc.to, "-o", tc.format)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", tc, code, errOut)
		}
		checkGolden(t, tc.golden, []byte(out))
		if tc.format == "json" {
			var v pathView
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			for _, ch := range v.Chains {
				if ch.Hops[len(ch.Hops)-1] != v.Target {
					t.Errorf("chain %v does not end at %s", ch, v.Target)
				}
			}
		}
	}
}

func TestReleasesPathRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"releases", "--path", "1.7.6", "v2.15.2"}, "upgrade to v1.8.x, then v1.10.x, then v2.4.x"},
		{[]string{"releases", "--path", "1.10.99", "v2.15.2"}, `unknown Harbor release "1.10.99"`},
		{[]string{"releases", "--path", "2.15.2", "v2.10.3"}, "downgrades"},
		{[]string{"releases", "--path", "1.10.0"}, "--path takes FROM and TO"},
		{[]string{"releases", "--path", "1.10.0", "v9.9.9"}, `unknown Harbor release "v9.9.9"`},
	} {
		code, out, errOut := runTool(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestBuildFromInspectVerify: bundle build v2.6.4 --from 1.9.4 --from 2.2.4 against the fake
// registry and installers (--installer-base) writes one .run with three hops; inspect lists
// them (text and JSON), verify passes.
func TestBuildFromInspectVerify(t *testing.T) {
	// Harbor's real files located before the chdir below (the fake builds installers lazily).
	srv := fakeharbor.StartT(t, fakeharbor.Options{Versions: []string{"v1.10.19", "v2.4.3", "v2.6.4"}, HarborReal: harborreal.RequireRoot(t)})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	t.Chdir(dir)
	args := []string{"build", "v2.6.4", "--from", "1.9.4", "--from", "2.2.4", "--registry", "http://" + srv.RegistryAddr,
		"--installer-base", srv.InstallersURL, "--cache", filepath.Join(dir, "cache"), "--stub", stub, "-q"}
	code, stdout, stderr := runTool(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"harbor-upgrade-1.9-to-2.6.run", "Hops:", "3: v1.10.19 -> v2.4.3 -> v2.6.4", "from v2.2.4:", "v2.4.3 -> v2.6.4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("build summary lacks %q:\n%s", want, stdout)
		}
	}
	run := filepath.Join(dir, "harbor-upgrade-1.9-to-2.6.run")
	code, stdout, stderr = runTool(t, "inspect", run)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Hops (3,", "v1.10.19", "harbor-migrator", "9.6 -> 13", "Chains:", "from v1.9.4:", "v1.10.19 -> v2.4.3 -> v2.6.4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runTool(t, "inspect", "-o", "json", run)
	var info selfextract.Info
	if err := json.Unmarshal([]byte(stdout), &info); code != 0 || err != nil {
		t.Fatalf("inspect -o json: exit %d, %v", code, err)
	}
	if len(info.Manifest.Hops) != 3 || len(info.Manifest.Chains) != 2 {
		t.Errorf("inspect json: hops %d chains %d", len(info.Manifest.Hops), len(info.Manifest.Chains))
	}
	var h payload.Hop
	if h, _ = info.Manifest.Hop("v2.4.3"); strings.Join(h.FromVersions, " ") != "v1.10.19 v2.2.4" {
		t.Errorf("hop 2.4.3 entered from %v", h.FromVersions)
	}
	if code, _, stderr := runTool(t, "verify", "-q", run); code != 0 {
		t.Errorf("verify: exit %d: %s", code, stderr)
	}
	// --installer names one archive: refused for a multi-hop bundle, nothing written.
	before, _ := os.ReadDir(dir)
	code, _, stderr = runTool(t, append(args, "--installer", srv.InstallerURL("v2.6.4", false), "-o", "x.run")...)
	after, _ := os.ReadDir(dir)
	if code != 2 || !strings.Contains(stderr, "--installer-base") || strings.Count(stderr, "\n") != 1 || len(before) != len(after) {
		t.Errorf("--installer with hops: exit %d, %q", code, stderr)
	}
}
