package roles

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
	"github.com/harborbundle/bundle/internal/harborreal"
)

// realCompose renders the REAL docker-compose.yml of a 2.x line: Harbor's own parse_yaml_config
// and validate (utils/configs.py) and prepare_docker_compose (utils/docker_compose.py) of
// prepare/<folder>/, imported in Debian's python3, paths pointed at temp files. Exit 3 with
// {"validation": msg} when validate() refuses, as prepare would ("Error happened in config
// validation...", exit 255).
const realComposePy = `
import sys, os, inspect, json, logging
src, conf, tag, flags, out = sys.argv[1:6]
sys.path.insert(0, src)
os.chdir(src)
import yaml
_load = yaml.load
# 2.0/2.1 call yaml.load(f) as PyYAML 5 allowed (FullLoader then); PyYAML 6 needs the loader.
yaml.load = lambda f, Loader=yaml.FullLoader: _load(f, Loader=Loader)
import utils.configs as cfgs
from pathlib import Path
# validate() looks host files up under /hostfs, as in the prepare container: the test's tree.
cfgs.host_root_dir = Path(os.environ['HOSTFS'])
import utils.docker_compose as dc
dc.docker_compose_template_path = os.path.join(src, 'templates', 'docker_compose', 'docker-compose.yml.jinja')
dc.docker_compose_yml_path = out
dc.parse_versions = lambda: {'VERSION_TAG': tag}
flags = [f for f in flags.split(',') if f]
kw = {p: p[5:] in flags for p in inspect.signature(cfgs.parse_yaml_config).parameters if p.startswith('with_')}
configs = cfgs.parse_yaml_config(conf, **kw)
try:
    vkw = {'notary_mode': kw.get('with_notary')} if 'with_notary' in kw else {}
    cfgs.validate(configs, **vkw)
except Exception as e:
    print(json.dumps({'validation': str(e)}))
    sys.exit(3)
args = {p: kw[p] for p in list(inspect.signature(dc.prepare_docker_compose).parameters)[1:]}
import utils.jinja
utils.jinja.mark_file = lambda *a, **k: None
dc.prepare_docker_compose(configs, **args)
`

type realResult struct {
	compose    []byte
	validation string // validate()'s message when it refused
}

func runRealCompose(t *testing.T, folder, tag, harborYML string, flags []string, hostfs string) realResult {
	t.Helper()
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out, script := filepath.Join(dir, "harbor.yml"), filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "render.py")
	if err := os.WriteFile(in, []byte(harborYML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(realComposePy), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, script, filepath.Join(root, "prepare", folder), in, tag, strings.Join(flags, ","), out)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "HOSTFS="+hostfs)
	stdout, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		var v struct{ Validation string }
		if err := json.Unmarshal(stdout, &v); err != nil {
			t.Fatalf("real validate: %v: %s", err, stdout)
		}
		return realResult{validation: v.Validation}
	}
	if err != nil {
		t.Fatalf("rendering the real compose of %s: %v\n%s%s", folder, err, stdout, stderrOf(err))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return realResult{compose: data}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// composeSummary is what the differential test compares per service: image, container name,
// env files, depends_on, and every volume as "source->target" (the `:z` suffix and the long or
// short syntax aside).
func composeSummary(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	var doc struct {
		Services map[string]struct {
			Image         string `yaml:"image"`
			ContainerName string `yaml:"container_name"`
			EnvFile       any    `yaml:"env_file"`
			Volumes       []any  `yaml:"volumes"`
			DependsOn     []any  `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	out := map[string][]string{}
	for name, s := range doc.Services {
		lines := []string{"image " + s.Image, "container " + s.ContainerName}
		switch e := s.EnvFile.(type) {
		case string:
			lines = append(lines, "env "+e)
		case []any:
			for _, x := range e {
				lines = append(lines, fmt.Sprint("env ", x))
			}
		}
		for _, d := range s.DependsOn {
			lines = append(lines, fmt.Sprint("depends_on ", d))
		}
		for _, v := range s.Volumes {
			switch v := v.(type) {
			case string:
				parts := strings.Split(v, ":")
				lines = append(lines, "volume "+parts[0]+"->"+parts[1])
			case map[string]any:
				lines = append(lines, fmt.Sprintf("volume %v->%v", v["source"], v["target"]))
			}
		}
		sort.Strings(lines)
		out[name] = lines
	}
	return out
}

// line2xYML is the real harbor.yml.tmpl of a line with hostname, http port and data_volume set,
// https either off (the block commented out, as an http install does) or on with cert paths,
// and metric enabled when asked.
func line2xYML(t *testing.T, folder string, https, metric bool) string {
	t.Helper()
	root := harborreal.RequireRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "installer", folder, "harbor.yml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = regexp.MustCompile(`(?m)^hostname: .*$`).ReplaceAllString(s, "hostname: harbor.test")
	s = regexp.MustCompile(`(?m)^  port: 80$`).ReplaceAllString(s, "  port: 18081")
	s = regexp.MustCompile(`(?m)^data_volume: .*$`).ReplaceAllString(s, "data_volume: /srv/harbor-data")
	if https {
		s = strings.Replace(s, "certificate: /your/certificate/path", "certificate: /etc/fake/server.crt", 1)
		s = strings.Replace(s, "private_key: /your/private/key/path", "private_key: /etc/fake/server.key", 1)
	} else {
		s = regexp.MustCompile(`(?m)^https:\n(  .*\n)*`).ReplaceAllStringFunc(s, func(m string) string {
			return "#" + strings.ReplaceAll(strings.TrimSuffix(m, "\n"), "\n", "\n#") + "\n"
		})
	}
	if metric {
		s = strings.Replace(s, "# metric:\n#   enabled: false\n#   port: 9090\n#   path: /metrics", "metric:\n  enabled: true\n  port: 9090\n  path: /metrics", 1)
	}
	return s
}

// prepare2Env is an in-process 2.x prepare container of version with harborYML as its input,
// the data volume mounted and the https files present under /hostfs.
func prepare2Env(t *testing.T, version, harborYML string) *testEnv {
	t.Helper()
	rel, err := release.Get(version)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, "v1.10.0")
	e.vars["HARBOR_VERSION"] = version
	e.vars["HARBOR_CONFIG_VERSION"] = rel.ConfigVersion
	e.vars["HARBOR_SCHEMA"] = fmt.Sprint(rel.SchemaVersion)
	e.write(prepareInput, harborYML)
	e.write(prepareHostfs+"/etc/fake/server.crt", "cert\n")
	e.write(prepareHostfs+"/etc/fake/server.key", "key\n")
	if err := os.MkdirAll(e.path(prepareData), 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// lines2x is every 2.x line: its real folder and the version the test runs the fake as.
func lines2x(t *testing.T) []string {
	t.Helper()
	root := harborreal.RequireRoot(t)
	entries, err := os.ReadDir(filepath.Join(root, "prepare"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "v2.") {
			out = append(out, e.Name())
		}
	}
	if len(out) < 16 {
		t.Fatalf("harbor-real/prepare has %d 2.x lines, want 16 (2.0 .. 2.15)", len(out))
	}
	return out
}

// TestPrepare2ComposeAsReal holds the fake 2.x prepare to the real one, line by line: for the
// line's real harbor.yml.tmpl, with no component, with every --with-* flag its prepare accepts
// (https on, as notary requires), and with metric enabled, the docker-compose.yml the fake writes
// has the services, images, container names, env files, depends_on and volumes that Harbor's own
// template renders for the same input.
func TestPrepare2ComposeAsReal(t *testing.T) {
	cases := 0
	for _, folder := range lines2x(t) {
		line, _, err := lineOf(folder)
		if err != nil {
			t.Fatal(err)
		}
		all := prepareLines[line].options
		for _, c := range []struct {
			name                    string
			flags                   []string
			https, metric, external bool
		}{
			{"plain", nil, false, false, false},
			{"all-flags", all, true, false, false},
			{"trivy+metric", []string{"trivy"}, false, true, false},
			{"external db and redis", []string{"trivy"}, false, true, true},
		} {
			yml := line2xYML(t, folder, c.https, c.metric)
			if c.external {
				yml += externalServices
			}
			e := prepare2Env(t, folder, yml)
			real := runRealCompose(t, folder, folder, yml, c.flags, e.path(prepareHostfs))
			if real.validation != "" {
				t.Fatalf("%s %s: the real validate refused: %s", folder, c.name, real.validation)
			}
			args := []string{"prepare", "prepare"}
			for _, f := range c.flags {
				args = append(args, "--with-"+f)
			}
			if code := e.run(args...); code != 0 {
				t.Fatalf("%s %s: fake prepare exit %d\n%s", folder, c.name, code, e.output())
			}
			want, got := composeSummary(t, real.compose), composeSummary(t, []byte(e.read(prepareCompose)))
			for _, name := range unionKeys(want, got) {
				if w, g := strings.Join(want[name], "\n"), strings.Join(got[name], "\n"); w != g {
					t.Errorf("%s %s service %q:\nreal:\n%s\nfake:\n%s", folder, c.name, name, w, g)
				}
			}
			cases++
		}
	}
	t.Logf("%d compose files compared with Harbor's real templates", cases)
}

// externalServices points harbor.yml at an external database and redis: the template then
// renders neither postgresql nor redis.
const externalServices = `
external_database:
  harbor:
    host: db.test
    port: 5432
    db_name: registry
    username: harbor
    password: secret
    ssl_mode: disable
    max_idle_conns: 2
    max_open_conns: 0
external_redis:
  host: redis.test:6379
  password: secret
  registry_db_index: 1
  jobservice_db_index: 2
  chartmuseum_db_index: 3
  trivy_db_index: 5
  idle_timeout_seconds: 30
`

func unionKeys(a, b map[string][]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string][]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
