package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
)

// TestBuildTrivyFlags checks how the Trivy DB flags become builder.Options.
func TestBuildTrivyFlags(t *testing.T) {
	base := builder.Options{Registry: "docker.io", Platform: "linux/amd64", Jobs: builder.DefaultJobs, Compression: "zstd", Level: "default"}
	with := func(f func(*builder.Options)) builder.Options { o := base; f(&o); return o }
	cases := []struct {
		args     []string
		want     builder.Options
		usageErr string
	}{
		{args: []string{"v2.15.2", "--with-trivy-db", "--with-trivy-java-db"}, want: with(func(o *builder.Options) {
			o.Version, o.WithTrivyDB, o.WithTrivyJavaDB = "v2.15.2", true, true
		})},
		{args: []string{"--trivy-db-only", "--with-trivy-java-db", "--trivy-db-repository", "m.example.com/trivy-db", "--trivy-java-db-repository", "http://127.0.0.1:5000/j:1"}, want: with(func(o *builder.Options) {
			o.TrivyDBOnly, o.WithTrivyJavaDB, o.TrivyDBRepository, o.TrivyJavaDBRepository = true, true, "m.example.com/trivy-db", "http://127.0.0.1:5000/j:1"
		})},
		{args: []string{"--trivy-db-only", "v2.15.2"}, usageErr: "--trivy-db-only takes no VERSION"},
		{args: []string{"--with-trivy-db"}, usageErr: "one VERSION"},
	}
	for _, c := range cases {
		f := &buildFlags{}
		cmd := buildCommand(&app{}, f)
		err := cmd.ParseFlags(c.args)
		if err == nil {
			err = cmd.Args(cmd, cmd.Flags().Args())
		}
		var got builder.Options
		if err == nil {
			got, _, err = f.options(cmd.Flags().Arg(0), false)
		}
		if c.usageErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.usageErr) {
				t.Errorf("%v: error %v, want %q", c.args, err, c.usageErr)
			}
			continue
		}
		got.BuilderVersion = ""
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v:\n got %+v %v\nwant %+v", c.args, got, err, c.want)
		}
	}
}

// TestBuildTrivyDBOnlyAndInspect runs `bundle build --trivy-db-only` against the fake registry
// and `bundle inspect` on the result, in text and JSON; a DB served with another media type is
// refused with one line, exit 2, nothing written.
func TestBuildTrivyDBOnlyAndInspect(t *testing.T) {
	srv := fakeharbor.StartT(t, fakeharbor.Options{Versions: []string{"v1.10.0"}})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	updated := time.Date(2026, 3, 14, 6, 12, 29, 0, time.UTC)
	refs := map[string]string{}
	for _, kind := range []string{payload.ScanDBTrivy, payload.ScanDBTrivyJava} {
		ref, _, err := srv.PushTrivyDB(ctx, kind, fakeharbor.TrivyDBRepoTag(kind), updated)
		if err != nil {
			t.Fatal(err)
		}
		refs[kind] = ref
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	args := []string{"build", "--trivy-db-only", "--with-trivy-java-db", "--trivy-db-repository", refs[payload.ScanDBTrivy],
		"--trivy-java-db-repository", refs[payload.ScanDBTrivyJava], "--cache", filepath.Join(dir, "cache"), "--stub", stub, "-q", "-o", dir}
	code, stdout, stderr := runTool(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "harbor-trivy-db-20260314.run")
	if res.File != run || res.Kind != payload.KindTrivyDBRefresh || len(res.ScanDBs) != 2 || res.ScanDBs[0].Metadata.UpdatedAt != "2026-03-14T06:12:29Z" {
		t.Errorf("summary %+v", res)
	}
	code, stdout, stderr = runTool(t, "inspect", run)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"Kind:             trivy-db-refresh", "Trivy DBs (2):",
		"trivy-db       2026-03-14T06:12:29Z  2026-03-15T06:12:29Z", "trivy-java-db  2026-03-14T06:12:29Z  2026-03-17T06:12:29Z",
		res.ScanDBs[0].Digest, refs[payload.ScanDBTrivyJava],
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Harbor release") || strings.Contains(stdout, "Images (") {
		t.Errorf("inspect of a DB-only bundle shows upgrade fields:\n%s", stdout)
	}
	code, stdout, _ = runTool(t, "inspect", "-o", "json", run)
	var info selfextract.Info
	if err := json.Unmarshal([]byte(stdout), &info); code != 0 || err != nil || info.Manifest.Kind != payload.KindTrivyDBRefresh ||
		len(info.Manifest.ScanDBs) != 2 || info.Manifest.ScanDBs[1].Metadata.NextUpdate != "2026-03-17T06:12:29Z" {
		t.Errorf("inspect -o json: exit %d %v %+v", code, err, info.Manifest)
	}
	code, stdout, stderr = runTool(t, "verify", "-q", run)
	if code != 0 {
		t.Errorf("verify: exit %d %s %s", code, stdout, stderr)
	}

	// Another media type: refused before anything is written.
	layer, _ := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, updated)
	bad, _, err := srv.PushTrivyArtifact(ctx, payload.ScanDBTrivy, "wrong/trivy-db:2", layer, "application/vnd.oci.image.layer.v1.tar+gzip", updated)
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	code, _, stderr = runTool(t, "build", "--trivy-db-only", "--trivy-db-repository", bad, "--cache", filepath.Join(dir, "cache"), "--stub", stub, "-q", "-o", empty)
	if entries, _ := os.ReadDir(empty); code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "Trivy reads only application/vnd.aquasec.trivy.db.layer.v1.tar+gzip") || len(entries) != 0 {
		t.Errorf("wrong media type: exit %d, stderr %q, left %v", code, stderr, entries)
	}
}
