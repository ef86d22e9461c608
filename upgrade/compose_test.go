package upgrade

import (
	"errors"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/harbor"
)

// The tools are chosen as each release's install.sh chooses (catalog compose facts): the
// plugin when the release prefers it and it works, else docker-compose of the minimum; the old
// install is stopped with what its containers' labels say created them.
func TestComposeTools(t *testing.T) {
	cat, err := harbor.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	get := func(v string) *harbor.Release {
		r, err := cat.Get(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	noPlugin := errors.New("docker: 'compose' is not a docker command")
	both := composeHost{plugin: "2.40.3", standalone: "1.29.2"}
	v1only := composeHost{pluginErr: noPlugin, standalone: "1.29.2"}
	v2only := composeHost{plugin: "2.40.3", standaloneErr: errors.New("docker-compose: not found")}
	labelled := func(v string) *Install {
		return &Install{Version: "v2.13.5", Containers: []Container{{Name: "harbor-core", Labels: map[string]string{LabelComposeVersion: v}}}}
	}
	for _, tc := range []struct {
		name             string
		in               *Install
		old, target      string
		host             composeHost
		wantOld, wantNew string // Name()s; "" = refused, wantErr in the error
		wantErr          string
	}{
		{"1.x both tools", &Install{Version: "v1.9.4"}, "v1.9.4", "v1.10.0", both, "docker-compose", "docker-compose", ""},
		{"2.4 -> 2.10 plugin there", &Install{Version: "v2.4.3"}, "v2.4.3", "v2.10.3", both, "docker-compose", "docker compose", ""},
		{"2.8 -> 2.10 v1 only", &Install{Version: "v2.8.6"}, "v2.8.6", "v2.10.3", v1only, "docker-compose", "docker-compose", ""},
		{"labels say plugin", labelled("2.40.3"), "v2.13.5", "v2.15.2", both, "docker compose", "docker compose", ""},
		{"labels say v1", labelled("1.29.2"), "v2.13.5", "v2.15.2", both, "docker-compose", "docker compose", ""},
		{"labels say plugin, none now", labelled("2.40.3"), "v2.13.5", "v2.15.2", v1only, "", "", "not usable now"},
		{"2.4 target without docker-compose", &Install{Version: "v2.2.4"}, "v2.2.4", "v2.4.3", v2only, "", "", "install.sh of v2.4.3 needs"},
		{"too old v1", &Install{Version: "v1.9.4"}, "v1.9.4", "v1.10.0", composeHost{pluginErr: noPlugin, standalone: "1.17.1"}, "", "", "too old"},
	} {
		oldT, newT, err := composeTools(tc.in, get(tc.old), get(tc.target), tc.host)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || oldT.Name() != tc.wantOld || newT.Name() != tc.wantNew {
			t.Errorf("%s: old %s, new %s, %v; want %s, %s", tc.name, oldT, newT, err, tc.wantOld, tc.wantNew)
		}
	}
}

// The plan names the tools in the stop and install steps.
func TestPlanNamesComposeTools(t *testing.T) {
	f := goodFacts()
	f.plugin = "2.40.3"
	p := &Plan{From: "v1.9.4", To: "v1.10.0", Install: f.in, Checks: evaluate(f)}
	p.ComposeOld, p.ComposeNew = f.composeOld, ComposeTool{Plugin: true}
	steps := planSteps(p, "m")
	if !strings.HasPrefix(steps[0].Does, "docker-compose down in /opt/harbor") || !strings.Contains(steps[4].Does, "(it runs docker compose)") {
		t.Errorf("steps %+v", steps)
	}
}
