package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/sign"
)

func TestBuildHelp(t *testing.T) {
	code, out, errOut := runTool(t, "build", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkGolden(t, "build.help.golden", []byte(out))
}

// TestBuildFlags checks how argv becomes builder.Options, without building anything.
func TestBuildFlags(t *testing.T) {
	cases := []struct {
		args     []string
		want     builder.Options
		jsonOut  bool
		usageErr string
	}{
		{args: []string{"v1.10.0"}, want: builder.Options{Version: "v1.10.0", Registry: "docker.io", Platform: "linux/amd64", Jobs: builder.DefaultJobs, Compression: "zstd", Level: "default"}},
		{args: []string{"v1.10.0", "-o", "json", "-o", "/tmp/x.run", "--compression", "keep", "--components", "notary,clair", "--catalog", "a.yaml", "--catalog", "b.yaml", "--split", "4G", "-f"},
			want:    builder.Options{Version: "v1.10.0", Output: "/tmp/x.run", Force: true, Registry: "docker.io", Platform: "linux/amd64", Jobs: builder.DefaultJobs, Compression: "keep", Components: []string{"notary", "clair"}, CatalogFiles: []string{"a.yaml", "b.yaml"}, Split: "4G"},
			jsonOut: true},
		{args: []string{"v1.10.0", "--registry", "127.0.0.1:5000", "--insecure-registry", "--level", "max", "--jobs", "8", "--cache", "/c", "--installer", "x.tgz", "--stub", "s"},
			want: builder.Options{Version: "v1.10.0", Registry: "127.0.0.1:5000", InsecureRegistry: true, Platform: "linux/amd64", Jobs: 8, Compression: "zstd", Level: "max", CacheDir: "/c", Installer: "x.tgz", Stub: "s"}},
		{args: []string{"v1.10.0", "-o", "a.run", "-o", "b.run"}, usageErr: "two files"},
		{args: []string{"v1.10.0", "--compression", "keep", "--level", "max"}, usageErr: "--level applies"},
		{args: []string{}, usageErr: "one VERSION"},
		{args: []string{"--jobs", "x", "v1.10.0"}, usageErr: "invalid argument"},
	}
	for _, c := range cases {
		var got builder.Options
		var gotJSON bool
		f := &buildFlags{}
		cmd := buildCommand(&app{}, f)
		err := cmd.ParseFlags(c.args)
		if err == nil {
			err = cmd.Args(cmd, cmd.Flags().Args())
		}
		if err == nil {
			got, gotJSON, err = f.options(cmd.Flags().Arg(0), cmd.Flags().Changed("level"))
		}
		if c.usageErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.usageErr) {
				t.Errorf("%v: error %v, want one containing %q", c.args, err, c.usageErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got.BuilderVersion != version {
			t.Errorf("%v: builder version %q, want this program's %q", c.args, got.BuilderVersion, version)
		}
		got.BuilderVersion = ""
		if !reflect.DeepEqual(got, c.want) || gotJSON != c.jsonOut {
			t.Errorf("%v:\n got %+v json=%v\nwant %+v json=%v", c.args, got, gotJSON, c.want, c.jsonOut)
		}
	}
}

// TestBuildCommand runs `bundle build` against the fake Harbor: the JSON summary on stdout,
// then bad input refused with one line on stderr and exit status 2.
func TestBuildCommand(t *testing.T) {
	srv := fakeharbor.StartT(t, fakeharbor.Options{Versions: []string{"v1.10.0"}})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	out := filepath.Join(dir, "h.run")
	args := []string{"build", "v1.10.0", "--registry", srv.RegistryAddr, "--installer", srv.InstallerURL("v1.10.0", false),
		"--cache", filepath.Join(dir, "cache"), "--stub", stub, "-q", "--compression", "keep"}
	code, stdout, stderr := runTool(t, append(args, "-o", out, "-o", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if res.File != out || res.Release != "v1.10.0" || len(res.Images) != 16 || res.Compression != "keep" {
		t.Errorf("summary %+v", res)
	}
	code, stdout, _ = runTool(t, append(args, "-o", filepath.Join(dir, "h2.run"))...)
	if code != 0 || !strings.Contains(stdout, "Upgrades from:") || !strings.Contains(stdout, "h2.run") {
		t.Errorf("text summary (exit %d):\n%s", code, stdout)
	}

	// Signed: verify --key accepts it; a secret key others can read is refused.
	pub, sec, err := sign.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	pubPath, secPath := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	if err := sign.WriteKeyPair(pub, sec, pubPath, secPath, false); err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(dir, "signed.run")
	if code, stdout, stderr := runTool(t, append(args, "-o", signed, "--sign-key", secPath)...); code != 0 || !strings.Contains(stdout, "signed.run.minisig") {
		t.Fatalf("signed build: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runTool(t, "verify", "-q", "--key", pubPath, signed); code != 0 {
		t.Errorf("verify --key of the signed bundle: exit %d: %s", code, stderr)
	}
	os.Chmod(secPath, 0o644)

	for _, bad := range [][]string{
		append(args, "-o", filepath.Join(dir, "z.run"), "--sign-key", secPath), // readable by others
		append(args, "-o", out),                                 // exists
		{"build", "v9.9.9", "--cache", filepath.Join(dir, "c")}, // unknown version
		append(args, "-o", filepath.Join(dir, "x.run"), "--components", "bogus"),
		append(args, "-o", filepath.Join(dir, "y.run"), "--level", "max"),
	} {
		before, _ := os.ReadDir(dir)
		code, _, stderr := runTool(t, bad...)
		after, _ := os.ReadDir(dir)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "bundle: ") {
			t.Errorf("%v: exit %d, stderr %q: want 2 and one line", bad[1:], code, stderr)
		}
		if len(before) != len(after) {
			t.Errorf("%v left files behind", bad[1:])
		}
	}
}
