package roles

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// realChain runs Harbor's real cfg/ code (utils.get_conf_version, run.search, each
// migrator_X.migrate, imported from ../shared/harbor-real unchanged) on many files in ONE Python
// process, doing what cfg/run.py's main() does with --output; it prints, per file, the exit code
// run.py would have (0, or 1 for any exception) and the last file written.
const realChain = `
import sys, os, json, importlib
cfg, outdir = sys.argv[1], sys.argv[2]
sys.path.insert(0, cfg)
os.chdir(cfg)
import utils
import run
res = {}
for p in sys.argv[3:]:
    try:
        v = utils.get_conf_version(p)
        if v == '1.10.0':
            res[p] = {'exit': 0, 'noop': True}
            continue
        chain = []
        if not run.search('.', v, '1.10.0', chain):
            res[p] = {'exit': 1, 'err': 'No migrator for version'}
            continue
        cur = p
        for c in chain:
            out = os.path.join(outdir, os.path.basename(p) + '.' + c)
            importlib.import_module(run.to_module_path(c)).migrate(cur, out)
            cur = out
        with open(cur, encoding='utf-8') as f:
            res[p] = {'exit': 0, 'out': f.read()}
    except BaseException as e:
        res[p] = {'exit': 1, 'err': type(e).__name__ + ': ' + str(e)[:300]}
print(json.dumps(res))
`

// generatedHarborYMLs are deterministic variations of the default 1.8.0 and 1.9.0 files
// (values replaced by YAML 1.1 corner cases, sections added, dropped or broken) and small flat
// files (read as INI when they are no YAML).
func generatedHarborYMLs(t *testing.T, n int) []string {
	tokens := []string{"yes", "no", "on", "off", "~", "null", "", "''", `""`, "0", "00", "010", "0o10", "0x1F", "0b101",
		"1_000", "1:30", "1:30.5", "1.5", "1.", ".5", "1e3", "1.0e+3", "-0.0", ".inf", ".nan", "2019-12-13",
		"2019-1-2 3:04:05", "2001-12-14t21:59:43.10-05:00", `"a: b"`, "'#x'", "a#b", `"x\ny"`, "[1, 2]", "{a: 1}",
		"[]", "{}", "True", "FALSE", `"caf` + "\u00e9" + `"`, "'it''s'", "12345678901234567890", "1e400", "0.1",
		"1.23456789012345678", `"\t"`, "+5", "=", "<<", "!!str 5", `!!int "7"`, "!!float 3", "!!bool yes",
		"disabled", "enabled", "a\tb", `"a\tb"`, "x # c", "[", "{", "a: b: c", `"open`, "*nope", "!foo x"}
	blocks := []string{"\n  port: %s", "\n  redirect:\n    disabled: %s", "\n  components: %s",
		"\n  ca_bundle: %s\n  s3:\n    bucket: %s", "\n  http_proxy: %s\n  https_proxy: %s\n  no_proxy: x\n  updaters_interval: 1",
		"\n  max_idle_conns: %s\n  max_open_conns: 0\n  password: p"}
	sections := []string{"hostname", "http", "https", "harbor_admin_password", "database", "data_volume", "clair",
		"jobservice", "chart", "log", "storage_service", "external_database", "external_redis", "uaa", "proxy",
		"notification", "external_url"}
	bases := []string{testdata(t, "harbor-v1.8.0.yml"), testdata(t, "harbor-v1.9.0.yml")}
	rng := rand.New(rand.NewPCG(11, 25))
	tok := func() string { return tokens[rng.IntN(len(tokens))] }
	var files []string
	for i := 0; i < n; i++ {
		if i%4 == 3 { // a small flat file
			lines := []string{"hostname: " + tok()}
			if rng.IntN(5) > 0 {
				lines = append(lines, "_version: "+[]string{"1.8.0", "1.9.0", "1.9.0", "1.10.0"}[rng.IntN(4)])
			}
			for k := rng.IntN(5); k > 0; k-- {
				lines = append(lines, sections[rng.IntN(len(sections))]+[]string{": ", ":", " = ", ":\t"}[rng.IntN(4)]+tok())
			}
			files = append(files, strings.Join(lines, "\n")+"\n")
			continue
		}
		var out []string
		for _, l := range strings.Split(bases[rng.IntN(2)], "\n") {
			s := strings.TrimSpace(l)
			if s != "" && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "_version") && strings.Contains(s, ":") && !strings.HasSuffix(s, ":") && rng.IntN(7) == 0 {
				l = l[:strings.Index(l, ":")+1] + " " + tok()
			}
			out = append(out, l)
		}
		text := strings.Join(out, "\n")
		for k := rng.IntN(3); k > 0; k-- {
			b := blocks[rng.IntN(len(blocks))]
			text += "\n" + sections[rng.IntN(len(sections))] + ":" + strings.ReplaceAll(b, "%s", tok()) + "\n"
		}
		files = append(files, text)
	}
	return files
}

// The pure mapping (MigrateConfig, what the role runs) against Harbor's real cfg/ modules on
// 400 generated files: the same outcome (a Python 3 result holding non-ASCII must be the fake's
// Python 2 failure) and, when both migrate, the same value lines. A few seconds, where a
// container or a migrator.py per file would take minutes.
func TestMigrateConfigMatchesRealOnGeneratedFiles(t *testing.T) {
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	dir, outDir := t.TempDir(), t.TempDir()
	inputs := generatedHarborYMLs(t, 400)
	var paths []string
	for i, in := range inputs {
		p := filepath.Join(dir, fmt.Sprintf("%03d.yml", i))
		if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(py, append([]string{"-c", realChain, filepath.Join(root, "migrator-v1.10.0", "cfg"), outDir}, paths...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"}
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the real cfg/ code: %v", err)
	}
	var real map[string]struct {
		Exit int
		Noop bool
		Out  string
		Err  string
	}
	if err := json.Unmarshal(b, &real); err != nil {
		t.Fatal(err)
	}
	migrated, failed := 0, 0
	for i, p := range paths {
		r, ok := real[p]
		if !ok {
			t.Fatalf("no result for %s", p)
		}
		m, err := MigrateConfig([]byte(inputs[i]), "1.10.0", false)
		_, py2 := err.(*NotASCIIError)
		switch {
		case r.Exit == 0 && !r.Noop && !isASCII([]byte(r.Out)):
			if !py2 {
				t.Errorf("%s: the real result holds non-ASCII, which the image's Python 2 cannot write; the fake: %v\n%s", p, err, inputs[i])
			}
		case (err == nil) != (r.Exit == 0):
			t.Errorf("%s: the fake's error %v, the real exit %d (%s)\n%s", p, err, r.Exit, r.Err, inputs[i])
		case r.Exit == 0 && r.Noop != (len(m.Chain) == 0):
			t.Errorf("%s: no need to upgrade: real %v, fake %v", p, r.Noop, len(m.Chain) == 0)
		case r.Exit == 0 && !r.Noop:
			migrated++
			if rl, fl := harborreal.ValueLines([]byte(r.Out)), harborreal.ValueLines(m.Out); strings.Join(rl, "\n") != strings.Join(fl, "\n") {
				t.Errorf("%s: the value lines differ (- real, + fake):\n%s\ninput:\n%s", p, harborreal.LineDiff(rl, fl), inputs[i])
			}
		default:
			failed++
		}
	}
	t.Logf("%d generated files: %d migrated, %d failed in both", len(paths), migrated, failed)
	if migrated < 40 || failed < 40 {
		t.Errorf("the generated files no longer exercise both outcomes (%d migrated, %d failed)", migrated, failed)
	}
}
