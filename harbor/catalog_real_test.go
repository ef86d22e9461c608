package harbor

// The built-in catalog checked against Harbor's own files in ../shared/harbor-real (found from
// the module root by internal/harborreal; the test fails, never skips, when they are missing):
// releases.tsv row by row, and for every tag the tree holds, its Makefile (the images of the
// offline package), its harbor-db Dockerfile (the PostgreSQL step), its install.sh (flags and
// compose detection) and its prepare (the harbor.yml schema it migrates to). A new upstream
// release is one catalog entry plus its row in releases.tsv; nothing here lists versions.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// tsvRow is one line of releases.tsv.
type tsvRow struct {
	tag, date  string
	schema     int
	dbArgs     []string
	flags      []string
	plugin     bool
	lineNumber int
}

// readReleasesTSV parses releases.tsv. Its 1.8.x and 1.9.x rows carry three extra empty cells
// before install_flags (9 cells, not 6): the cells between db_entrypoint_args and the last one
// are read as install_flags, and more than one non-empty cell there is an error.
func readReleasesTSV(t *testing.T, root string) []tsvRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "releases.tsv"))
	if err != nil {
		t.Fatalf("Harbor's release list is missing: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	const header = "tag\tdate\tdb_schema_max\tdb_entrypoint_args\tinstall_flags\tcompose_v2_plugin"
	if lines[0] != header {
		t.Fatalf("releases.tsv header %q, want %q: the test must learn the new columns", lines[0], header)
	}
	var rows []tsvRow
	for i, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 6 {
			t.Fatalf("releases.tsv line %d: %d cells, want 6", i+2, len(f))
		}
		row := tsvRow{tag: f[0], date: f[1], lineNumber: i + 2}
		if row.schema, err = strconv.Atoi(f[2]); err != nil {
			t.Fatalf("releases.tsv line %d: db_schema_max %q", i+2, f[2])
		}
		if err := json.Unmarshal([]byte(f[3]), &row.dbArgs); err != nil {
			t.Fatalf("releases.tsv line %d: db_entrypoint_args %q: %v", i+2, f[3], err)
		}
		var middle []string
		for _, c := range f[4 : len(f)-1] {
			if c != "" {
				middle = append(middle, c)
			}
		}
		switch len(middle) {
		case 0:
		case 1:
			row.flags = strings.Split(middle[0], ",")
		default:
			t.Fatalf("releases.tsv line %d: more than one install_flags cell: %q", i+2, middle)
		}
		switch f[len(f)-1] {
		case "yes":
			row.plugin = true
		case "no":
		default:
			t.Fatalf("releases.tsv line %d: compose_v2_plugin %q is not yes or no", i+2, f[len(f)-1])
		}
		rows = append(rows, row)
	}
	return rows
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// Every release of releases.tsv is in the catalog and nothing else is; every column agrees.
func TestCatalogMatchesReleasesTSV(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	rows := readReleasesTSV(t, root)
	inTSV := map[string]bool{}
	for _, row := range rows {
		inTSV[row.tag] = true
		r, err := c.Get(row.tag)
		if err != nil {
			t.Errorf("releases.tsv line %d: %v", row.lineNumber, err)
			continue
		}
		if r.Version != row.tag {
			t.Errorf("%s: catalog spells it %s", row.tag, r.Version)
		}
		if r.Date != row.date {
			t.Errorf("%s: date %q, releases.tsv %q", row.tag, r.Date, row.date)
		}
		if r.SchemaVersion != row.schema {
			t.Errorf("%s: schema_version %d, releases.tsv db_schema_max %d", row.tag, r.SchemaVersion, row.schema)
		}
		if !slices.Equal(r.DBEntrypointArgs, row.dbArgs) && !(len(r.DBEntrypointArgs) == 0 && len(row.dbArgs) == 0) {
			t.Errorf("%s: db_entrypoint_args %q, releases.tsv %q", row.tag, r.DBEntrypointArgs, row.dbArgs)
		}
		if got := sortedCopy(append(slices.Clone(r.InstallFlags), r.RefusedFlags...)); !slices.Equal(got, sortedCopy(row.flags)) {
			t.Errorf("%s: install_flags %q + refused_flags %q, releases.tsv %q", row.tag, r.InstallFlags, r.RefusedFlags, row.flags)
		}
		if r.Compose.Plugin != row.plugin {
			t.Errorf("%s: compose plugin %v, releases.tsv %v", row.tag, r.Compose.Plugin, row.plugin)
		}
	}
	for _, r := range c.Releases() {
		if !inTSV[r.Version] {
			t.Errorf("catalog has %s, which releases.tsv does not list", r.Version)
		}
	}
	if len(rows) < 100 {
		t.Errorf("releases.tsv has %d releases; expected every release 1.8.0 .. 2.15.2", len(rows))
	}
}

// Every release says, as data, all the catalog must know about it.
func TestCatalogEntriesComplete(t *testing.T) {
	for _, r := range mustCatalog(t).Releases() {
		var missing []string
		for name, empty := range map[string]bool{
			"date": r.Date == "", "schema_version": r.SchemaVersion == 0, "postgres": !r.Postgres.Known(),
			"compose.docker_compose_min": r.Compose.StandaloneMin == "", "images_from": r.ImagesFrom == "",
		} {
			if empty {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			t.Errorf("%s lacks %s", r.Version, strings.Join(missing, ", "))
		}
	}
}

// makefileImage is an image the Makefile puts into the offline package, and the component the
// switch that adds it belongs to.
type makefileImage struct{ component, ref string }

// flagComponents maps the Makefile switches that add images to DOCKERSAVE_PARA to components.
// BUILD_INSTALLER (2.13+, on by default) adds prepare and harbor-log to every installer package;
// EXPORTERFLAG (2.13+) is a build switch for harbor-exporter, which the prepare templates run
// whenever harbor.yml's metric is on, so it counts as shipped.
var flagComponents = map[string]string{
	"NOTARYFLAG": Notary, "CLAIRFLAG": Clair, "CHARTFLAG": Chartmuseum, "TRIVYFLAG": Trivy,
	"MIGRATORFLAG": Migrator, "EXPORTERFLAG": Exporter, "BUILD_INSTALLER": "",
}

var (
	mkAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(\+|:|\?)?=\s*(.*)$`)
	mkIfFlag = regexp.MustCompile(`^ifeq\s*\(\$\(([A-Z_]+)\),\s*true\)$`)
	mkVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
)

// makefileImages evaluates DOCKERSAVE_PARA of a Harbor Makefile with VERSIONTAG=version, with
// every switch that adds images turned on, the way the release's offline package is built.
func makefileImages(t *testing.T, path, version string) []makefileImage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("Harbor's Makefile is missing: %v", err)
	}
	var logical []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	vars := map[string]string{}
	type part struct{ flag, text string }
	var parts []part
	var conds []string // innermost last; "" for a condition that is not a switch
	for _, l := range logical {
		s := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(s, "ifeq") || strings.HasPrefix(s, "ifneq") || strings.HasPrefix(s, "ifdef") || strings.HasPrefix(s, "ifndef"):
			flag := ""
			if m := mkIfFlag.FindStringSubmatch(s); m != nil {
				flag = m[1]
			}
			conds = append(conds, flag)
			continue
		case s == "endif":
			conds = conds[:len(conds)-1]
			continue
		case s == "else":
			conds[len(conds)-1] = "else of " + conds[len(conds)-1]
			continue
		}
		m := mkAssign.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		name, op, value := m[1], m[2], m[3]
		if name == "DOCKERSAVE_PARA" {
			flag := ""
			if op == "+" {
				if len(conds) == 0 {
					t.Fatalf("%s: DOCKERSAVE_PARA+= outside a switch", path)
				}
				flag = conds[len(conds)-1]
				if _, ok := flagComponents[flag]; !ok {
					t.Fatalf("%s: DOCKERSAVE_PARA+= under %q, a switch this test does not know: add it to flagComponents", path, flag)
				}
			}
			parts = append(parts, part{flag, value})
			continue
		}
		// Variables: top-level plain assignments only (recipe lines start with a tab).
		if len(conds) == 0 && !strings.HasPrefix(l, "\t") && op != "+" {
			vars[name] = value
		}
	}
	vars["VERSIONTAG"] = version
	var expand func(s string, depth int) string
	expand = func(s string, depth int) string {
		if depth > 10 {
			t.Fatalf("%s: variables nest too deep in %q", path, s)
		}
		return mkVarRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := mkVarRef.FindStringSubmatch(ref)[1]
			v, ok := vars[name]
			if !ok {
				t.Fatalf("%s: DOCKERSAVE_PARA uses $(%s), which the Makefile does not set at top level", path, name)
			}
			return expand(v, depth+1)
		})
	}
	var out []makefileImage
	for _, p := range parts {
		for _, ref := range strings.Fields(expand(p.text, 0)) {
			component := flagComponents[p.flag]
			if component == "" {
				component = Core
				switch {
				case strings.HasSuffix(ref[:strings.LastIndex(ref, ":")], "/prepare"):
					component = Prepare
				case strings.HasSuffix(ref[:strings.LastIndex(ref, ":")], "/harbor-exporter"):
					component = Exporter
				}
			}
			out = append(out, makefileImage{component, ref})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no DOCKERSAVE_PARA images found", path)
	}
	return out
}

func imageSet(images []makefileImage) []string {
	var out []string
	for _, i := range images {
		out = append(out, i.component+" "+i.ref)
	}
	sort.Strings(out)
	return out
}

// withoutTags is a set of "component repository".
func withoutTags(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r[:strings.LastIndex(r, ":")]
	}
	return out
}

// The images of every release are those of its Makefile (its own, or for a patch release
// without one there, the one images_from names, retagged); "record" releases have the
// repositories of their line's Makefile and tags ending in their own version.
func TestCatalogImagesMatchMakefiles(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	makefiles := map[string]string{}
	byLine := map[string]string{} // line -> a tag of it with a Makefile
	dirs, err := filepath.Glob(filepath.Join(root, "installer", "v*", "Makefile"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no installer/*/Makefile under %s", root)
	}
	for _, p := range dirs {
		tag := filepath.Base(filepath.Dir(p))
		makefiles[tag] = p
		v, err := ParseVersion(tag)
		if err != nil {
			t.Fatal(err)
		}
		byLine[v.Line()] = tag
	}
	for tag := range makefiles {
		if r, err := c.Get(tag); err != nil {
			t.Errorf("harbor-real has %s's Makefile, the catalog lacks it: %v", tag, err)
		} else if r.ImagesFrom != "makefile" {
			t.Errorf("%s: images_from %q, but harbor-real has its Makefile: use makefile", tag, r.ImagesFrom)
		}
	}
	checked := 0
	for _, r := range c.Releases() {
		got := refsOf(r.Images)
		switch from, inferred := r.ImagesInferredFrom(); {
		case r.ImagesFrom == "makefile":
			p, ok := makefiles[r.Version]
			if !ok {
				t.Errorf("%s: images_from makefile, but harbor-real has no installer/%s/Makefile", r.Version, r.Version)
				continue
			}
			if want := imageSet(makefileImages(t, p, r.Version)); !slices.Equal(got, want) {
				t.Errorf("%s images:\n catalog  %q\n Makefile %q", r.Version, got, want)
			}
			checked++
		case inferred:
			p, ok := makefiles[from.String()]
			if !ok {
				t.Errorf("%s: images inferred from %s, which has no Makefile in harbor-real", r.Version, from)
				continue
			}
			if want := imageSet(makefileImages(t, p, r.Version)); !slices.Equal(got, want) {
				t.Errorf("%s images (inferred from %s):\n catalog  %q\n Makefile %q", r.Version, from, got, want)
			}
			checked++
		case r.ImagesFrom == "record":
			tag, ok := byLine[r.Semver().Line()]
			if !ok {
				t.Errorf("%s: no Makefile of line %s in harbor-real to hold its record against", r.Version, r.Semver().Line())
				continue
			}
			want := imageSet(makefileImages(t, makefiles[tag], r.Version))
			// 1.10.0 has clair-adapter, which 1.10.x patches keep; the repositories match the line.
			if !slices.Equal(withoutTags(got), withoutTags(want)) {
				t.Errorf("%s (record): repositories %q differ from those of %s's Makefile %q", r.Version, withoutTags(got), tag, withoutTags(want))
			}
			for _, img := range r.Images {
				if !strings.HasSuffix(img.Tag, r.Version) {
					t.Errorf("%s (record): %s is not tagged for this release", r.Version, img.Ref())
				}
			}
		default:
			t.Errorf("%s: images_from %q", r.Version, r.ImagesFrom)
		}
	}
	if checked < 80 {
		t.Errorf("only %d releases checked image by image against a Makefile", checked)
	}
}

// The PostgreSQL step is what each tag's goharbor/harbor-db Dockerfile and entrypoint do.
func TestCatalogPostgresMatchesHarborDB(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	files, err := filepath.Glob(filepath.Join(root, "db", "v*", "Dockerfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no db/*/Dockerfile under %s", root)
	}
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT\s+(\[.*\])\s*$`)
	for _, p := range files {
		tag := filepath.Base(filepath.Dir(p))
		r, err := c.Get(tag)
		if err != nil {
			t.Errorf("harbor-real has %s's harbor-db, the catalog lacks it: %v", tag, err)
			continue
		}
		b, _ := os.ReadFile(p)
		m := entry.FindSubmatch(b)
		var args []string
		if m == nil || json.Unmarshal(m[1], &args) != nil || len(args) == 0 || args[0] != "/docker-entrypoint.sh" {
			t.Errorf("%s: no ENTRYPOINT [\"/docker-entrypoint.sh\", ...] in %s", tag, p)
			continue
		}
		if args = args[1:]; !slices.Equal(args, r.DBEntrypointArgs) && len(args)+len(r.DBEntrypointArgs) > 0 {
			t.Errorf("%s: db_entrypoint_args %q, the Dockerfile %q", tag, r.DBEntrypointArgs, args)
		}
		script, err := os.ReadFile(filepath.Join(filepath.Dir(p), "docker-entrypoint.sh"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(script)
		// What postgres says, read back from the script: a major-per-directory layout when it
		// takes majors; an upgrade step when it has an old major; the refusal of 9.6 data in the
		// root when it has none; no per-major directories at all before 2.3.
		hasMajors := strings.Contains(s, "PGDATANEW=${PGDATA}/pg${PG_VERSION_NEW}")
		refuses96 := strings.Contains(s, "Upgrading from PostgreSQL 9.6 to PostgreSQL $PG_VERSION_NEW is not supported")
		upgrades := strings.Contains(s, "upgrade.sh --old-bindir $PGBINOLD")
		switch p := r.Postgres; {
		case len(args) == 0:
			if hasMajors || upgrades || p.Major != "9.6" || p.UpgradesFrom != "" {
				t.Errorf("%s: harbor-db without majors (9.6 in database/, no upgrade), catalog postgres %s", tag, p)
			}
		case p.UpgradesFrom == "":
			if !hasMajors || !refuses96 {
				t.Errorf("%s: catalog postgres %s upgrades nothing, but the entrypoint does not refuse 9.6 data", tag, p)
			}
		default:
			if !hasMajors || !upgrades || DataDir(p.Major) != "database/pg"+args[1] {
				t.Errorf("%s: catalog postgres %s, the entrypoint does not pg_upgrade into database/pg%s", tag, p, args[1])
			}
			if p.UpgradesFrom == "9.6" && !strings.Contains(s, "PGDATAOLD=$PGDATA") {
				t.Errorf("%s: catalog says it upgrades 9.6 data from database/ itself; the entrypoint does not look there", tag)
			}
		}
	}
}

var (
	shFlagCase    = regexp.MustCompile(`(?m)^\s*(--with-[a-z]+)\)`)
	shComposeMin  = regexp.MustCompile(`Need to upgrade docker-compose package to (\d+\.\d+\.\d+)\+`)
	shCfgVersion  = regexp.MustCompile(`(?m)^_version:\s*(\S+)`)
	pyMigrateDflt = regexp.MustCompile(`'--target',\s*default='(\d+\.\d+\.\d+)'`)
)

// install.sh accepts exactly install_flags + refused_flags, exits 1 on each refused flag,
// detects the compose plugin as compose.plugin says and wants docker-compose_min.
func TestCatalogMatchesInstallers(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "installer", "v*"))
	if len(dirs) == 0 {
		t.Fatalf("no installer/* under %s", root)
	}
	for _, dir := range dirs {
		tag := filepath.Base(dir)
		r, err := c.Get(tag)
		if err != nil {
			t.Errorf("harbor-real has %s's installer, the catalog lacks it: %v", tag, err)
			continue
		}
		install, err := os.ReadFile(filepath.Join(dir, "install.sh"))
		if err != nil {
			t.Fatal(err)
		}
		common, _ := os.ReadFile(filepath.Join(dir, "common.sh")) // 1.10+
		var parsed []string
		for _, m := range shFlagCase.FindAllStringSubmatch(string(install), -1) {
			parsed = append(parsed, m[1])
		}
		if want := append(slices.Clone(r.InstallFlags), r.RefusedFlags...); !slices.Equal(sortedCopy(parsed), sortedCopy(want)) {
			t.Errorf("%s: install.sh parses %q, catalog install_flags+refused_flags %q", tag, parsed, want)
		}
		for _, f := range parsed {
			c := strings.TrimPrefix(f, "--with-")
			refuse := regexp.MustCompile(`if \[ \$with_` + c + ` \]\s*then\s*error "[^"]*"\s*exit 1`)
			if got, want := refuse.Match(install), slices.Contains(r.RefusedFlags, f); got != want {
				t.Errorf("%s: install.sh refuses %s: %v; catalog refused_flags %q", tag, f, got, r.RefusedFlags)
			}
		}
		both := string(install) + string(common)
		if got := strings.Contains(both, "docker compose version"); got != r.Compose.Plugin {
			t.Errorf("%s: install.sh detects the docker compose plugin: %v; catalog %v", tag, got, r.Compose.Plugin)
		}
		if m := shComposeMin.FindStringSubmatch(both); m == nil || m[1] != r.Compose.StandaloneMin {
			t.Errorf("%s: install.sh wants docker-compose %v; catalog %q", tag, m, r.Compose.StandaloneMin)
		}
		// What bundle ships from harbor/ is what the installer has besides its images (the
		// Makefile is harbor-real's, not the installer's; LICENSE is not kept there).
		entries, _ := os.ReadDir(dir)
		real := []string{"LICENSE"}
		for _, e := range entries {
			if e.Name() != "Makefile" {
				real = append(real, e.Name())
			}
		}
		if !slices.Equal(sortedCopy(real), sortedCopy(r.Installer.Files)) {
			t.Errorf("%s: installer holds %q, catalog installer files %q", tag, real, r.Installer.Files)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "harbor.yml*"))
		if len(files) != 1 {
			t.Errorf("%s: want one harbor.yml or harbor.yml.tmpl, found %q", tag, files)
			continue
		}
		if !slices.Contains(r.Installer.Files, filepath.Base(files[0])) {
			t.Errorf("%s: installer ships %s, catalog installer files %q", tag, filepath.Base(files[0]), r.Installer.Files)
		}
		b, _ := os.ReadFile(files[0])
		shipped := r.ShippedConfigVersion
		if shipped == "" {
			shipped = r.ConfigVersion
		}
		if m := shCfgVersion.FindSubmatch(b); m == nil || string(m[1]) != shipped {
			t.Errorf("%s: %s has _version %q; catalog shipped config version %s", tag, filepath.Base(files[0]), m, shipped)
		}
	}
}

// config_version is what `prepare migrate` migrates to by default (2.x, with its template) or
// what the 1.10 migrator writes; the method is prepare-migrate exactly when the release's prepare
// has a migrate command, and every release of a line shares both.
func TestCatalogMigrationMatchesPrepare(t *testing.T) {
	root := harborreal.RequireRoot(t)
	c := mustCatalog(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "prepare", "v*"))
	if len(dirs) == 0 {
		t.Fatalf("no prepare/* under %s", root)
	}
	for _, dir := range dirs {
		tag := filepath.Base(dir)
		r, err := c.Get(tag)
		if err != nil {
			t.Errorf("harbor-real has %s's prepare, the catalog lacks it: %v", tag, err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "commands", "migrate.py"))
		m := pyMigrateDflt.FindSubmatch(b)
		if err != nil || m == nil {
			t.Errorf("%s: no `migrate --target` default in prepare: %v", tag, err)
			continue
		}
		if string(m[1]) != r.ConfigVersion || r.Migration.Method != MethodPrepare {
			t.Errorf("%s: prepare migrates to %s; catalog config_version %s, method %s", tag, m[1], r.ConfigVersion, r.Migration.Method)
		}
		step := "version_" + strings.ReplaceAll(r.ConfigVersion, ".", "_")
		if _, err := os.Stat(filepath.Join(dir, "migrations", step)); err != nil {
			t.Errorf("%s: prepare has no migrations/%s", tag, step)
		}
	}
	migrator := filepath.Join(root, "migrator-v1.10.0", "cfg", "migrator_1_10_0")
	if _, err := os.Stat(migrator); err != nil {
		t.Errorf("1.10 migrator: %v", err)
	} else if r := mustGet(t, c, "v1.10.0"); r.Migration.Method != MethodMigrator || r.ConfigVersion != "1.10.0" {
		t.Errorf("v1.10.0: migrator writes 1.10.0; catalog %s %s", r.Migration.Method, r.ConfigVersion)
	}
	perLine := map[string]*Release{}
	for _, r := range c.Releases() {
		first, ok := perLine[r.Semver().Line()]
		if !ok {
			perLine[r.Semver().Line()] = r
			continue
		}
		if r.ConfigVersion != first.ConfigVersion || r.Migration.Method != first.Migration.Method {
			t.Errorf("%s: config %s / %s, but %s of its line has %s / %s", r.Version, r.ConfigVersion,
				r.Migration.Method, first.Version, first.ConfigVersion, first.Migration.Method)
		}
	}
}

// documentedFrom is Harbor's upgrade guide as a rule, written independently of the catalog:
// 1.9 from 1.8; 1.10 from 1.8 and 1.9; 2.0 from 1.9+; 2.1-2.4 from 1.10+; from 2.5 on, the two
// minor lines before. 1.8 itself converts 1.6/1.7's harbor.cfg.
func documentedFrom(v Version) []string {
	var out []string
	add := func(major, minor int) { out = append(out, fmt.Sprintf("%d.%d.x", major, minor)) }
	switch {
	case v.Major == 1 && v.Minor == 8:
		add(1, 6)
		add(1, 7)
	case v.Major == 1:
		for m := 8; m < v.Minor; m++ {
			add(1, m)
		}
	case v.Minor == 0:
		add(1, 9)
		add(1, 10)
	case v.Minor <= 4:
		add(1, 10)
		for m := 0; m < v.Minor; m++ {
			add(2, m)
		}
	default:
		add(2, v.Minor-2)
		add(2, v.Minor-1)
	}
	return out
}

func TestCatalogUpgradePathsAsDocumented(t *testing.T) {
	for _, r := range mustCatalog(t).Releases() {
		if want := documentedFrom(r.Semver()); !slices.Equal(r.UpgradeFrom, want) {
			t.Errorf("%s: upgrade_from %q, the documented paths say %q", r.Version, r.UpgradeFrom, want)
		}
	}
}

// Components a line no longer has are exactly its drops, and an upgrade names them once.
func TestCatalogDrops(t *testing.T) {
	c := mustCatalog(t)
	for _, r := range c.Releases() {
		prev := c.previousLine(r.Semver())
		var want []string
		if prev != nil {
			for _, comp := range prev.Components() {
				if !r.has(comp) {
					want = append(want, comp)
				}
			}
		}
		var got []string
		for _, d := range r.Drops {
			got = append(got, d.Component)
		}
		if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
			t.Errorf("%s: drops %q; relative to the line before it lacks %q", r.Version, got, want)
		}
	}
	cases := []struct {
		from, to string
		want     []string
	}{
		{"v1.10.0", "v2.4.3", []string{Clair}},
		{"v2.1.6", "v2.2.0", []string{Clair}},
		{"v2.7.4", "v2.9.5", []string{Chartmuseum, Notary}},
		{"v2.2.0", "v2.2.4", nil},
		{"v2.9.0", "v2.15.2", nil},
		{"v2.6.4", "v2.8.0", []string{Chartmuseum}},
	}
	for _, tc := range cases {
		drops, err := c.Dropped(tc.from, mustGet(t, c, tc.to))
		var got []string
		for _, d := range drops {
			got = append(got, d.Component)
			if d.Lost == "" {
				t.Errorf("%s -> %s: %s dropped without what is lost", tc.from, tc.to, d.Component)
			}
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s -> %s: dropped %q, %v; want %q", tc.from, tc.to, got, err, tc.want)
		}
	}
}
