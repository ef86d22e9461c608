package upgrade

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/payload"
)

func chainManifest() *payload.Manifest {
	m := manifest110()
	m.Release, m.FromVersions = "v2.4.3", []string{"v1.9.4"}
	m.Images = []payload.Image{{Ref: "goharbor/harbor-core:v1.10.19", Component: "core"}, {Ref: "goharbor/harbor-core:v2.4.3", Component: "core"}}
	m.Entries = []payload.Entry{{Path: "images/x"}, {Path: "installer/v1.10.19/install.sh"}, {Path: "installer/v2.4.3/install.sh"}, {Path: "installer/v2.4.3/harbor.yml.tmpl"}}
	m.Hops = []payload.Hop{
		{Version: "v1.10.19", FromVersions: []string{"v1.9.4"}, Installer: payload.HopPrefix("v1.10.19"), Images: []string{"goharbor/harbor-core:v1.10.19"},
			Migration: payload.Migration{Method: "harbor-migrator", Image: "goharbor/harbor-migrator:v1.10.19"}},
		{Version: "v2.4.3", FromVersions: []string{"v1.10.19"}, Installer: payload.HopPrefix("v2.4.3"), Images: []string{"goharbor/harbor-core:v2.4.3"},
			Migration: payload.Migration{Method: "prepare-migrate", Image: "goharbor/prepare:v2.4.3"}, InstallFlags: []string{"--with-trivy"}},
	}
	m.Chains = []payload.Chain{{From: "v1.9.4", Hops: []string{"v1.10.19", "v2.4.3"}}}
	return m
}

// hopView makes each hop read as the one-hop bundle of its release: its own installer files at
// installer/, its images, its migration; the one-hop path check then accepts exactly the
// versions the hop is entered from.
func TestHopView(t *testing.T) {
	m := chainManifest()
	v := hopView(m, m.Hops[1])
	var paths []string
	for _, e := range v.Entries {
		paths = append(paths, e.Path)
	}
	if !slices.Equal(paths, []string{"images/x", "installer/install.sh", "installer/harbor.yml.tmpl"}) {
		t.Errorf("entries %v", paths)
	}
	if len(v.Images) != 1 || v.Images[0].Ref != "goharbor/harbor-core:v2.4.3" || v.Release != "v2.4.3" || v.Migration.Method != "prepare-migrate" || len(v.Hops) != 0 {
		t.Errorf("view %+v", v)
	}
	if err := pathErr("v1.10.19", v, nil); err != nil {
		t.Errorf("hop entered from its hop before: %v", err)
	}
	if err := pathErr("v1.9.4", v, nil); err == nil {
		t.Errorf("hop 2 accepted the chain's start")
	}
	if got := m.ChainFrom("v1.10.19"); len(got) != 1 || got[0].Version != "v2.4.3" {
		t.Errorf("a host part-way along: %v", got)
	}
}

type hopEntrySource struct {
	Source
	opened []string
}

func (s *hopEntrySource) OpenEntry(path string) (io.ReadCloser, error) {
	s.opened = append(s.opened, path)
	return io.NopCloser(strings.NewReader("")), nil
}

func TestHopSourceOpensTheHopsInstaller(t *testing.T) {
	src := &hopEntrySource{}
	hs := hopSource{Source: src, prefix: "installer/v2.4.3/"}
	hs.OpenEntry("installer/install.sh")
	hs.OpenEntry("images/x")
	if !slices.Equal(src.opened, []string{"installer/v2.4.3/install.sh", "images/x"}) {
		t.Errorf("opened %v", src.opened)
	}
}

// The chain's steps: one stop and one backup, then each hop's steps under its name, a stop-hop
// between hops; a resumed run finds its hop in the step name.
func TestChainSteps(t *testing.T) {
	c := &ChainRecord{Hops: []HopRecord{{Version: "v1.10.19"}, {Version: "v2.4.3"}}}
	want := "stop backup v1.10.19/load v1.10.19/migrate v1.10.19/install v1.10.19/health v1.10.19/stop-hop v2.4.3/load v2.4.3/migrate v2.4.3/install v2.4.3/health"
	if got := strings.Join(chainSteps(c), " "); got != want {
		t.Errorf("steps\n%s\nwant\n%s", got, want)
	}
	if h, s := splitStepName("v2.4.3/install"); h != "v2.4.3" || s != StepInstall {
		t.Errorf("split: %s %s", h, s)
	}
	if h, s := splitStepName(StepBackup); h != "" || s != StepBackup {
		t.Errorf("split: %s %s", h, s)
	}
}

// nextMigrationErr refuses a hop whose migrator has no way from the `_version` the hop before
// writes, and accepts the documented steps.
func TestNextMigrationErr(t *testing.T) {
	v := &payload.Manifest{Release: "v2.4.3", Migration: payload.Migration{Method: "prepare-migrate"}}
	if err := nextMigrationErr("1.10.0", "2.4.0", v); err != nil {
		t.Errorf("1.10.0 -> 2.4.0: %v", err)
	}
	if err := nextMigrationErr("1.8.0", "2.4.0", v); err == nil || !strings.Contains(err.Error(), "1.9.0") {
		t.Errorf("1.8.0 -> 2.4.0 by prepare: %v", err)
	}
	if err := nextMigrationErr("2.4.0", "2.4.0", v); err != nil {
		t.Errorf("no migration: %v", err)
	}
}
