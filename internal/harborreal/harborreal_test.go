package harborreal

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestCorpusShape(t *testing.T) {
	RequireRoot(t)
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("corpus has %d cases, want >= 40", len(cases))
	}
	releases := map[string]int{}
	for _, c := range cases {
		if c.Why == "" || c.Name == "" {
			t.Errorf("case %q lacks a name or a why", c.Name)
		}
		var m map[string]any
		if err := yaml.Unmarshal(c.YAML, &m); err != nil || m["_version"] == nil {
			t.Errorf("%s: not a harbor.yml with _version: %v", c.Name, err)
		}
		releases[strings.SplitN(c.Name, "-", 2)[0]]++
	}
	for _, r := range []string{"v1.8.6", "v1.9.4", "v1.10.0"} {
		if releases[r] == 0 {
			t.Errorf("no case built on %s", r)
		}
	}
}

// The real migrator's output location rule (migrator.py CfgMigrator): with an empty out dir it
// overwrites the input; with an existing out file it writes there and leaves the input alone.
func TestRunMigrator110OutputLocation(t *testing.T) {
	RequireRoot(t)
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	var in []byte
	for _, c := range cases {
		if c.Name == "v1.9.4-default" {
			in = c.YAML
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	r, err := RunMigrator110(ctx, in, OutDirEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || r.Out != nil || bytes.Equal(r.Input, in) || !bytes.Contains(r.Input, []byte("_version: 1.10.0")) ||
		!strings.Contains(r.Log, "the input file will be overwritten") || !r.Wrote() || r.Py2Fails {
		t.Errorf("empty out dir: exit %d, out %q, input changed %v, py2fails %v\n%s", r.Exit, r.Out, !bytes.Equal(r.Input, in), r.Py2Fails, r.Log)
	}

	r, err = RunMigrator110(ctx, in, OutFileExists)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || !bytes.Equal(r.Input, in) || !bytes.Contains(r.Out, []byte("_version: 1.10.0")) {
		t.Errorf("existing out file: exit %d, input changed %v, out %d bytes\n%s", r.Exit, !bytes.Equal(r.Input, in), len(r.Out), r.Log)
	}

	// _version at the target: "no need to upgrade", exit 0, nothing written.
	at := bytes.Replace(in, []byte("_version: 1.9.0"), []byte("_version: 1.10.0"), 1)
	r, err = RunMigrator110(ctx, at, OutFileExists)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || len(r.Out) != 0 || r.Wrote() || !strings.Contains(r.Log, "no need to upgrade") {
		t.Errorf("at target: exit %d, out %d bytes\n%s", r.Exit, len(r.Out), r.Log)
	}

	// A StrictUndefined crash: exit 102 (RC_UP), nothing written.
	broken := bytes.Replace(in, []byte("hostname: reg.mydomain.com"), []byte("nohostname: x"), 1)
	r, err = RunMigrator110(ctx, broken, OutDirEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 102 || !bytes.Equal(r.Input, broken) || !strings.Contains(r.Log, "UndefinedError") {
		t.Errorf("no hostname: exit %d\n%s", r.Exit, r.Log)
	}

	// Non-ASCII: Python 3 writes it, the image's Python 2 would not.
	nonASCII := bytes.Replace(in, []byte("hostname: reg.mydomain.com"), []byte("hostname: régistry.corp"), 1)
	r, err = RunMigrator110(ctx, nonASCII, OutFileExists)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || !r.Py2Fails {
		t.Errorf("non-ASCII hostname: exit %d py2fails %v", r.Exit, r.Py2Fails)
	}
}

func TestRunPrepareMigrate(t *testing.T) {
	RequireRoot(t)
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	var in []byte
	for _, c := range cases {
		if c.Name == "v1.10.0-default" {
			in = c.YAML
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := RunPrepareMigrate(ctx, "v2.0.6", in, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || !bytes.Contains(r.Out, []byte("_version: 2.0.0")) {
		t.Errorf("prepare v2.0.6 migrate of 1.10.0: exit %d, out %d bytes\n%s", r.Exit, len(r.Out), r.Log)
	}
	r, err = RunPrepareMigrate(ctx, "v2.0.6", r.Out, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 0 || r.Out != nil || !strings.Contains(r.Log, "no need to upgrade") {
		t.Errorf("prepare migrate at the target: exit %d, out %v\n%s", r.Exit, r.Out != nil, r.Log)
	}
}
