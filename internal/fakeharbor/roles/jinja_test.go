package roles

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// Every migration template of every 2.x prepare program parses in the subset (a construct
// outside it fails here, by name, not in a render).
func TestJinjaParsesEveryRealTemplate(t *testing.T) {
	root := harborreal.RequireRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "prepare", "*", "migrations", "version_*", "harbor.yml.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 16*3 {
		t.Fatalf("found %d migration templates under %s/prepare, want every step of the 16 2.x lines", len(files), root)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseJinja(string(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	t.Logf("%d templates parsed", len(files))
}

// Constructs outside the subset are refused at parse time, never rendered by a guess.
func TestJinjaRefusesOutsideSubset(t *testing.T) {
	for _, src := range []string{
		"{% set x = 1 %}", "{{ x | upper }}", "{{ x + 1 }}", "{{ x is sameas y }}", "{% if x %}",
		"{{ x[1:2] }}", "{%- if x %}{% endif %}", "{{ f(1) }}", "{% for x in y if x %}{% endfor %}",
		"{{ 'a\\n' }}", "{% macro m() %}{% endmacro %}", "{{ x < 1 }}", "{{ [1] }}", "{% endif %}",
		"{{ x if y }}", "{% for x in [] %}{% endfor %}",
	} {
		if _, err := parseJinja(src); err == nil {
			t.Errorf("%q parsed; want a syntax error naming what the subset lacks", src)
		}
	}
}

// jinja2Program renders each (template, yaml) pair with the Environment the real migration
// steps build (StrictUndefined, trim_blocks, lstrip_blocks, select_autoescape() on a .jinja
// name), printing the text or the exception's class and message.
const jinja2Program = `
import sys, json, yaml
from jinja2 import Environment, DictLoader, StrictUndefined, select_autoescape
cases = json.load(sys.stdin)
res = []
for c in cases:
    try:
        env = Environment(loader=DictLoader({'harbor.yml.jinja': c['tpl']}), undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, autoescape=select_autoescape())
        d = yaml.safe_load(c['yaml'])
        res.append({'out': env.get_template('harbor.yml.jinja').render(**d)})
    except Exception as e:
        res.append({'err': type(e).__name__ + ': ' + str(e)})
print(json.dumps(res))
`

type jinjaCase struct {
	Tpl  string `json:"tpl"`
	YAML string `json:"yaml"`
}

// The subset against jinja2 itself on the constructs and whitespace rules the templates use,
// and on the values a harbor.yml can hold where they decide the output (None, booleans,
// floats, dates, dicts and lists printed with Python's str(), missing and mistyped keys).
func TestJinjaMatchesJinja2(t *testing.T) {
	py, err := harborreal.Python()
	if err != nil {
		t.Fatalf("jinja2 is needed to hold the subset to: %v", err)
	}
	vals := "a: {b: 1, c: null, d: true, e: 1.5e3, f: 2019-12-13, g: [x, 2, {h: i}], s: Str, t: '', items: 7, z: 0.1}\n" +
		"l: [1, two, null]\nn: null\nk: ca_bundle\nr: redirect\nstr: hello\nnum: 5\ny: yes\n"
	tpls := []string{
		"x: {{ a.b }}\ny: {{ a.c }}\nz: {{ a.d | lower }}\n",
		"{{ a.e }} {{ a.f }} {{ a.g }} {{ a }} {{ a.z }} {{ l }}",
		"{% if a.b is defined %}\n  v: {{ a.b }}\n{% else %}\n  v: none\n{% endif %}\nend\n",
		"  {% if a.q is defined %}\nq\n  {% elif a.s is defined%}\n  s: {{ a.s | lower}}\n  {% endif %}\n",
		"{% for k, v in a.items() %}\n  {{ k }}: {{ v if v is not none else '' }}\n{% endfor %}\n",
		"{% for x in a.g %}\n- {{x}}\n{% endfor %}",
		"{% for x in str %}{{ x }},{% endfor %}\n",
		"{% for x in a %}{{ x }} {% endfor %}",
		"{{ a.t or '' }}|{{a.s or ''}}|{{ n or 'dflt' }}",
		"{% if k == 'ca_bundle' %}\nca\n{% elif r == 'redirect' %}\nre\n{% endif %}",
		"{% if a.b is defined and (a.c or a.d) %}yes{% else %}no{% endif %}",
		"{{ a.s if a.s == 'Str' else 'other' }} {{ 'enabled' if not a.t else 'disabled' }}",
		"{{ a.q }}", "{{ q }}", "{{ q.r }}", "{% if q.r is defined %}x{% endif %}",
		"{{ str.x is defined }}", "{{ n.x is defined }}", "{{ a.q is none }} {{ n is none }} {{ n is not none }}",
		"{% for x in n %}{% endfor %}", "{% for x in num %}{% endfor %}", "{% for k, v in str.items() %}{% endfor %}",
		"{% for k, v in l %}{% endfor %}", "{% for k, v in a.g %}{% endfor %}", "{% if a.q %}{% endif %}", "{{ a.q == 1 }}",
		"{{ a.q | lower }}", "{{ y }} {{ y | lower }} {{ n | lower }}", "{{ a['b'] }} {{ a['q'] is defined }}",
		"{# comment #}\n  {# indented comment #}\nx\n", "no newline at end", "two newlines\n\n",
		"line\r\nwindows\r\n{% if a %}\r\nin\r\n{% endif %}\r\n", "  {{ a.b }}  {% if a %}  x  {% endif %}  \n",
		"{% if a %}{% for x in l %}{% if x is none %}N{% else %}{{ x }}{% endif %}{% else %}empty{% endfor %}{% endif %}",
		"{% for x in a.t %}{% else %}empty{% endfor %}",
		"{{ num == 5.0 }} {{ a.d == 1 }} {{ l == l }} {{ 'a' != 'a' }}",
		"{{ trace. otel is defined }}",
	}
	var cases []jinjaCase
	for _, tp := range tpls {
		cases = append(cases, jinjaCase{tp, vals})
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(py, "-c", jinja2Program)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running jinja2: %v", err)
	}
	var want []struct{ Out, Err *string }
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("jinja2's answers: %v (%d for %d cases)", err, len(want), len(cases))
	}
	d, err := pyLoad([]byte(vals))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		tpl, err := parseJinja(c.Tpl)
		if err != nil {
			if want[i].Err != nil && strings.HasPrefix(*want[i].Err, "TemplateSyntaxError") {
				continue
			}
			t.Errorf("%q: parse: %v", c.Tpl, err)
			continue
		}
		got, err := renderJinja(tpl, d)
		switch {
		case want[i].Out != nil && err != nil:
			t.Errorf("%q: jinja2 renders %q, the subset fails: %v", c.Tpl, *want[i].Out, err)
		case want[i].Out != nil && got != *want[i].Out:
			t.Errorf("%q:\n jinja2 %q\n subset %q", c.Tpl, *want[i].Out, got)
		case want[i].Err != nil && err == nil:
			t.Errorf("%q: jinja2 raises %s, the subset renders %q", c.Tpl, *want[i].Err, got)
		case want[i].Err != nil:
			typ, msg, _ := strings.Cut(*want[i].Err, ": ")
			var pe *pyException
			if pex, ok := err.(*pyException); ok {
				pe = pex
			}
			switch {
			case pe == nil:
				t.Errorf("%q: jinja2 raises %s, the subset: %v", c.Tpl, *want[i].Err, err)
			case !strings.HasSuffix(pe.Type, typ) || pe.Msg != msg:
				t.Errorf("%q: jinja2 raises %s: %s, the subset %s: %s", c.Tpl, typ, msg, pe.Type, pe.Msg)
			}
		}
	}
}

// The evaluator reads `x.name` as the key name for every type but a dict's items (Python's
// getattr comes first in jinja2): true only while no template names an attribute Python
// finds on the values a harbor.yml holds. Held here for every real template.
func TestJinjaTemplateAttributesAreKeys(t *testing.T) {
	root := harborreal.RequireRoot(t)
	py, err := harborreal.Python()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "prepare", "*", "migrations", "version_*", "harbor.yml.jinja"))
	names := map[string]bool{}
	var walkE func(e jexpr)
	walkE = func(e jexpr) {
		switch e := e.(type) {
		case eGetattr:
			names[e.name] = true
			walkE(e.obj)
		case eGetitem:
			walkE(e.obj)
			walkE(e.key)
		case eCall:
			walkE(e.fn)
		case eFilter:
			walkE(e.e)
		case eTest:
			walkE(e.e)
		case eNot:
			walkE(e.e)
		case eAnd:
			walkE(e.a)
			walkE(e.b)
		case eOr:
			walkE(e.a)
			walkE(e.b)
		case eCmp:
			walkE(e.a)
			walkE(e.b)
		case eCond:
			walkE(e.cond)
			walkE(e.yes)
			walkE(e.no)
		}
	}
	var walk func(ns []jnode)
	walk = func(ns []jnode) {
		for _, n := range ns {
			switch n := n.(type) {
			case jOutput:
				walkE(n.e)
			case jIf:
				for i, c := range n.conds {
					walkE(c)
					walk(n.bodies[i])
				}
				walk(n.els)
			case jFor:
				walkE(n.iter)
				walk(n.body)
				walk(n.els)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := parseJinja(string(b))
		if err != nil {
			t.Fatal(err)
		}
		walk(tpl.body)
	}
	if len(names) < 50 || !names["items"] {
		t.Fatalf("found %d attribute names in the templates, expected the config's keys and items", len(names))
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	const prog = `
import sys, json, datetime
hits = []
for n in json.load(sys.stdin):
    for v in [{}, '', 0, 0.5, True, [], None, datetime.date(2019, 1, 1), datetime.datetime(2019, 1, 1)]:
        if hasattr(v, n) and not (isinstance(v, dict) and n == 'items'):
            hits.append(n + ' on ' + type(v).__name__)
print(json.dumps(hits))
`
	in, _ := json.Marshal(list)
	cmd := exec.Command(py, "-c", prog)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	if err := json.Unmarshal(out, &hits); err != nil {
		t.Fatal(err)
	}
	if len(hits) > 0 {
		t.Errorf("templates name Python attributes the evaluator would read as keys: %v", hits)
	}
	t.Logf("%d attribute names of %d templates checked", len(names), len(files))
}
