package roles

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The migration steps of the 2.x prepare program: migrations/version_X_Y_Z/ modules, read
// from the real __init__.py files the image carries, and the path between two versions
// (utils/migration.py search).

// migrationStep is one migrations/version_X_Y_Z module.
type migrationStep struct {
	dir      string
	revision string
	down     []string // down_revisions (2.1+), or [down_revision] (2.0's single-parent form)
	oldForm  bool     // down_revision: 2.0's search, which walks the single parents
	hooks    []configHook
}

// configHook is a Python fix-up a step's migrate() makes to config_dict before rendering.
type configHook func(d *pyVal) *pyExit

// stepHooks are the helpers some steps' migrate() defines, by name: the fake runs the Go
// equivalent of each; a step defining any other helper stops the fake (a new release's
// Python it does not know).
var stepHooks = map[string]configHook{
	"max_comm_need_update": hookMaxCommNeedUpdate,
	"db_conn_need_update":  hookDBConnNeedUpdate,
}

var (
	revisionRe      = regexp.MustCompile(`(?m)^revision\s*=\s*(.*)$`)
	downRevisionsRe = regexp.MustCompile(`(?m)^down_revisions\s*=\s*\[(.*)\]\s*$`)
	downRevisionRe  = regexp.MustCompile(`(?m)^down_revision\s*=\s*(.*)$`)
	defRe           = regexp.MustCompile(`(?m)^\s*def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
)

// loadStep is importlib.import_module("migrations.version_" + version with "_" for ".").
func loadStep(migrations, version string) (*migrationStep, *pyExit) {
	name := "version_" + strings.ReplaceAll(version, ".", "_")
	dir := filepath.Join(migrations, name)
	src, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		ex := pyErr("ModuleNotFoundError", "No module named 'migrations.%s'", name)
		return nil, &ex
	}
	s := &migrationStep{dir: dir}
	unsupported := func(what string) (*migrationStep, *pyExit) {
		return nil, &pyExit{1, &jinjaUnsupportedError{fmt.Sprintf("%s/__init__.py: %s", name, what)}}
	}
	text := string(src)
	m := revisionRe.FindStringSubmatch(text)
	if m == nil || len(pyStringLits(m[1])) != 1 {
		return unsupported("no revision = '...'")
	}
	s.revision = pyStringLits(m[1])[0]
	if m := downRevisionsRe.FindStringSubmatch(text); m != nil {
		s.down = pyStringLits(m[1])
	} else if m := downRevisionRe.FindStringSubmatch(text); m != nil {
		s.oldForm = true
		s.down = pyStringLits(m[1]) // None: no parent
	} else {
		return unsupported("no down_revision(s)")
	}
	// What the engine hard-codes of the Environment the step builds.
	for _, need := range []string{"undefined=StrictUndefined", "trim_blocks=True", "lstrip_blocks=True", "get_template('harbor.yml.jinja')", "tpl.render(**config_dict)"} {
		if !strings.Contains(strings.ReplaceAll(text, " ", ""), strings.ReplaceAll(need, " ", "")) {
			return unsupported("its Environment lacks " + need)
		}
	}
	if strings.Contains(text, "autoescape") && !strings.Contains(text, "autoescape = select_autoescape()") {
		return unsupported("autoescape other than select_autoescape() (which leaves .jinja unescaped)")
	}
	for _, d := range defRe.FindAllStringSubmatch(text, -1) {
		if d[1] == "migrate" {
			continue
		}
		h, ok := stepHooks[d[1]]
		if !ok {
			return unsupported("unknown helper " + d[1])
		}
		s.hooks = append(s.hooks, h)
	}
	return s, nil
}

// migrationPath is utils/migration.py search(input, target): the steps after input up to
// target. 2.1+ search breadth-first over down_revisions; 2.0 walks down_revision from the
// target. Both end in an exception when input is not on the way.
func migrationPath(migrations, input, target string) ([]*migrationStep, *pyExit) {
	first, ex := loadStep(migrations, target)
	if ex != nil {
		return nil, ex
	}
	if first.oldForm {
		var path []*migrationStep
		visited := map[string]bool{}
		for s := first; ; {
			visited[s.revision] = true
			if s.revision == input {
				return path, nil
			}
			if len(s.down) == 0 {
				ex := pyErr("Exception", "no migration path found")
				return nil, &ex
			}
			path = append([]*migrationStep{s}, path...)
			next := s.down[0]
			if visited[next] {
				ex := pyErr("Exception", "find a loop caused by %s on migration path", next)
				return nil, &ex
			}
			if s, ex = loadStep(migrations, next); ex != nil {
				// the real one checks the directory first: Exception('... not dir')
				ex := pyErr("Exception", "%s not dir", filepath.Join(migrations, "versions", strings.ReplaceAll(next, ".", "_")))
				return nil, &ex
			}
		}
	}
	nextVersion := map[string]string{}
	visited := map[string]bool{}
	q := []string{target}
	found := false
	for len(q) > 0 {
		name := q[0]
		q = q[1:]
		s, ex := loadStep(migrations, name)
		if ex != nil {
			return nil, ex
		}
		visited[name] = true
		if name == input {
			found = true
			break
		}
		for _, v := range s.down {
			nextVersion[v] = name
			if !visited[v] && !contains(q, v) {
				q = append(q, v)
			}
		}
	}
	if !found {
		ex := pyErr("utils.migration.MigratioNotFound", "no migration path found to target version")
		return nil, &ex
	}
	var path []*migrationStep
	for cur := input; cur != target; {
		cur = nextVersion[cur]
		s, ex := loadStep(migrations, cur)
		if ex != nil {
			return nil, ex
		}
		path = append(path, s)
	}
	return path, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// migrate is the step module's migrate(input_cfg, output_cfg): read_conf, its fix-ups, then
// `open(output_cfg, 'w')` (the file exists, empty, if rendering then fails) and the render.
func (s *migrationStep) migrate(env *Env, input, output string) *pyExit {
	src, err := os.ReadFile(filepath.Join(s.dir, "harbor.yml.jinja"))
	if err != nil {
		ex := pyErr("jinja2.exceptions.TemplateNotFound", "harbor.yml.jinja")
		return &ex
	}
	tpl, err := parseJinja(string(src))
	if err != nil {
		return &pyExit{1, &jinjaUnsupportedError{filepath.Base(s.dir) + "/harbor.yml.jinja: " + err.Error()}}
	}
	d, ex := readConfV(env, input)
	if ex != nil {
		return ex
	}
	for _, h := range s.hooks {
		if ex := h(d); ex != nil {
			return ex
		}
	}
	f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return openError(err, output)
	}
	defer f.Close()
	text, err := renderJinja(tpl, d)
	if err != nil {
		return &pyExit{1, err}
	}
	if _, err := f.WriteString(text); err != nil {
		ex := pyErr("OSError", "%v", err)
		return &ex
	}
	return nil
}

// configDict is config_dict.get(key) for the hooks; config_dict not a dict crashes there.
func configDict(d *pyVal, key string) (*pyVal, *pyExit) {
	if d == nil || d.kind != pyDict {
		ex := pyErr("AttributeError", "'%s' object has no attribute 'get'", pyTypeName(d))
		return nil, &ex
	}
	if v, ok := d.get(key); ok {
		return v, nil
	}
	return &pyVal{kind: pyNone}, nil
}

func pyIntVal(n int64) *pyVal { return &pyVal{kind: pyInt, i: big.NewInt(n)} }

// databaseConf is what both database hooks start with: db_conf = config_dict.get('database'),
// nothing to do (nil, nil) when it is falsy, and db_conf.get(...) crashing when it is no dict.
func databaseConf(d *pyVal) (*pyVal, *pyExit) {
	db, ex := configDict(d, "database")
	if ex != nil {
		return nil, ex
	}
	if !db.truthy() {
		return nil, nil
	}
	if db.kind != pyDict {
		ex := pyErr("AttributeError", "'%s' object has no attribute 'get'", pyTypeName(db))
		return nil, &ex
	}
	return db, nil
}

// hookMaxCommNeedUpdate is version_2_1_0's max_comm_need_update: a database.max_open_conns in
// [100, 1000) becomes 1000.
func hookMaxCommNeedUpdate(d *pyVal) *pyExit {
	db, ex := databaseConf(d)
	if db == nil {
		return ex
	}
	v, ok := db.get("max_open_conns")
	if !ok || !v.truthy() {
		return nil
	}
	n, isNum := pyNumber(v) // 100 <= v < 1000
	if !isNum {
		if v.kind == pyFloat { // nan, inf compare fine: never in range
			return nil
		}
		ex := pyErr("TypeError", "'<=' not supported between instances of 'int' and '%s'", pyTypeName(v))
		return &ex
	}
	if n.Cmp(big.NewFloat(100)) >= 0 && n.Cmp(big.NewFloat(1000)) < 0 {
		db.set(&pyVal{kind: pyStr, s: "max_open_conns"}, pyIntVal(1000))
	}
	return nil
}

// hookDBConnNeedUpdate is version_2_3_0's db_conn_need_update: max_idle_conns 50 with
// max_open_conns 1000 (the old defaults) become 100 and 900.
func hookDBConnNeedUpdate(d *pyVal) *pyExit {
	db, ex := databaseConf(d)
	if db == nil {
		return ex
	}
	get := func(k string) *pyVal {
		if v, ok := db.get(k); ok {
			return v
		}
		return pyIntVal(0)
	}
	if pyDeepEqual(get("max_idle_conns"), pyIntVal(50)) && pyDeepEqual(get("max_open_conns"), pyIntVal(1000)) {
		db.set(&pyVal{kind: pyStr, s: "max_idle_conns"}, pyIntVal(100))
		db.set(&pyVal{kind: pyStr, s: "max_open_conns"}, pyIntVal(900))
	}
	return nil
}
