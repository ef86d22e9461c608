package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The databases real harbor-db holds: postgres's own and what its initdb.sh creates.
var pgDatabases = map[string]bool{"postgres": true, "template0": true, "template1": true,
	"registry": true, "notaryserver": true, "notarysigner": true, "clair": true}

// schemaQuery is the one query the fake database answers, the one bundle's dirty-database
// check runs: golang-migrate's table in the registry database.
var schemaQuery = regexp.MustCompile(`(?i)^\s*select\s+version\s*,\s*dirty\s+from\s+(public\.)?schema_migrations\s*;?\s*$`)

// countQueries are the counts bundle reads to prove a database holds Harbor's data, each with the
// table it reads (core's project and repository tables; the fake keeps projects in "projects")
// and which rows count.
var countQueries = []struct {
	re       *regexp.Regexp
	relation string
	table    string
	counts   func(row map[string]any) bool
}{
	{regexp.MustCompile(`(?i)^\s*select\s+count\s*\(\s*\*\s*\)\s+from\s+(public\.)?project\s+where\s+deleted\s*=\s*(false|'f'|'false')\s*;?\s*$`),
		"project", "projects", func(row map[string]any) bool { return row["deleted"] != true }},
	{regexp.MustCompile(`(?i)^\s*select\s+count\s*\(\s*\*\s*\)\s+from\s+(public\.)?repository\s*;?\s*$`),
		"repository", "repository", func(map[string]any) bool { return true }},
}

// psqlArgs is the part of psql's command line the fake reads.
type psqlArgs struct {
	user, db, command, sep string
	tuplesOnly, unaligned  bool
}

// parsePsqlArgs reads psql's options: -U/--username, -d/--dbname, -c/--command, -t, -A, -F,
// the connection options (-h, -p: ignored, the server is this container's) and -X, -q, -w;
// then [DBNAME [USERNAME]].
func parsePsqlArgs(args []string) (psqlArgs, error) {
	a := psqlArgs{sep: "|"}
	var positional []string
	takes := map[string]*string{"U": &a.user, "username": &a.user, "d": &a.db, "dbname": &a.db,
		"c": &a.command, "command": &a.command, "F": &a.sep, "field-separator": &a.sep, "h": new(string), "host": new(string),
		"p": new(string), "port": new(string)}
	flags := map[string]*bool{"t": &a.tuplesOnly, "tuples-only": &a.tuplesOnly, "A": &a.unaligned, "no-align": &a.unaligned,
		"X": new(bool), "no-psqlrc": new(bool), "q": new(bool), "quiet": new(bool), "w": new(bool), "no-password": new(bool)}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			if dst, ok := takes[name]; ok {
				if !hasValue {
					if i+1 >= len(args) {
						return a, fmt.Errorf("option '--%s' requires an argument", name)
					}
					i++
					value = args[i]
				}
				*dst = value
			} else if dst, ok := flags[name]; ok && !hasValue {
				*dst = true
			} else {
				return a, fmt.Errorf("unrecognized option '%s'", arg)
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			for j := 1; j < len(arg); j++ {
				name := arg[j : j+1]
				if dst, ok := takes[name]; ok {
					value := arg[j+1:]
					if value == "" {
						if i+1 >= len(args) {
							return a, fmt.Errorf("option requires an argument -- '%s'", name)
						}
						i++
						value = args[i]
					}
					*dst = value
					break
				}
				dst, ok := flags[name]
				if !ok {
					return a, fmt.Errorf("invalid option -- '%s'", name)
				}
				*dst = true
			}
		default:
			positional = append(positional, arg)
		}
	}
	if len(positional) > 0 && a.db == "" {
		a.db = positional[0]
	}
	if len(positional) > 1 && a.user == "" {
		a.user = positional[1]
	}
	if a.user == "" {
		a.user = "root" // docker exec runs as the image's user; harbor-db has no role of that name
	}
	if a.db == "" {
		a.db = a.user
	}
	return a, nil
}

// runPsql is psql inside harbor-db (`docker exec harbor-db psql ...`), answering from the state
// the fake database keeps. Exit codes are psql's: 1 for an error in the command, 2 when it
// cannot connect or the server refuses the session.
func runPsql(env *Env, args []string) int {
	a, err := parsePsqlArgs(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "psql: %v\nTry \"psql --help\" for more information.\n", err)
		return exitFail
	}
	if a.command == "" {
		fmt.Fprintln(env.Stderr, "psql: the fake harbor-db's psql runs only -c COMMAND (no interactive session)")
		return exitFail
	}
	st, hasRegistry, err := fetchSchemaState(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "psql: could not connect to server: %v\n\tIs the server running locally and accepting\n\tconnections on Unix domain socket \"/var/run/postgresql/.s.PGSQL.5432\"?\n", err)
		return exitUsage
	}
	if a.user != "postgres" {
		fmt.Fprintf(env.Stderr, "psql: FATAL:  role \"%s\" does not exist\n", a.user)
		return exitUsage
	}
	if !pgDatabases[a.db] || (a.db == "registry" && !hasRegistry) {
		fmt.Fprintf(env.Stderr, "psql: FATAL:  database \"%s\" does not exist\n", a.db)
		return exitUsage
	}
	for _, q := range countQueries {
		if q.re.MatchString(a.command) {
			return psqlCount(env, a, st, q.relation, q.table, q.counts)
		}
	}
	if !schemaQuery.MatchString(a.command) {
		fmt.Fprintf(env.Stderr, "ERROR:  the fake harbor-db answers only \"SELECT version, dirty FROM schema_migrations\", \"SELECT count(*) FROM project WHERE deleted = false\" and \"SELECT count(*) FROM repository\" in the registry database, not: %s\n", a.command)
		return exitFail
	}
	// Before core first migrates (schema 0 here), golang-migrate's table does not exist in 1.x
	// and is empty from 2.0; it never exists outside the registry database.
	if a.db != "registry" || (st.Version == 0 && !st.Table) {
		fmt.Fprintf(env.Stderr, "ERROR:  relation \"schema_migrations\" does not exist\nLINE 1: %s\n", strings.TrimSpace(a.command))
		return exitFail
	}
	if st.Version == 0 {
		printRows(env, a, []string{"version", "dirty"}, nil, []bool{true, false})
		return exitOK
	}
	dirty := "f"
	if st.Dirty {
		dirty = "t"
	}
	printRows(env, a, []string{"version", "dirty"}, [][]string{{strconv.Itoa(st.Version), dirty}}, []bool{true, false})
	return exitOK
}

// psqlCount answers a count query from the table the fake keeps. Core's tables exist once core
// has migrated the schema: on a new database (schema 0) the relation does not exist.
func psqlCount(env *Env, a psqlArgs, st schemaState, relation, table string, counts func(map[string]any) bool) int {
	if a.db != "registry" || st.Version == 0 {
		fmt.Fprintf(env.Stderr, "ERROR:  relation \"%s\" does not exist\nLINE 1: %s\n", relation, strings.TrimSpace(a.command))
		return exitFail
	}
	var rows []map[string]any
	if err := getJSON(env, "/tables/"+table, &rows); err != nil {
		fmt.Fprintf(env.Stderr, "psql: server closed the connection unexpectedly (%v)\n", err)
		return exitUsage
	}
	n := 0
	for _, row := range rows {
		if counts(row) {
			n++
		}
	}
	printRows(env, a, []string{"count"}, [][]string{{strconv.Itoa(n)}}, []bool{true})
	return exitOK
}

// fetchSchemaState asks the database server of this container (127.0.0.1:5432) for its
// schema_migrations row and whether the registry database exists; it fails while the server
// does not accept connections yet (initdb, start) or has stopped.
func fetchSchemaState(env *Env) (schemaState, bool, error) {
	var st schemaState
	err := getJSON(env, "/schema_migrations", &st)
	if errors.Is(err, errNoDatabase) {
		return st, false, nil
	}
	return st, true, err
}

// errNoDatabase is the server's answer for a database that does not exist.
var errNoDatabase = errors.New("no such database")

// getJSON reads path from this container's database server.
func getJSON(env *Env, path string, v any) error {
	addr := env.Getenv("FAKEHARBOR_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:5432"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return fmt.Errorf("No such file or directory")
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errNoDatabase
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server closed the connection unexpectedly (%s)", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("server closed the connection unexpectedly (%v)", err)
	}
	return nil
}

// printRows prints a result as psql does: unaligned (-A) with the field separator, or aligned;
// with the header and the row count unless tuples only (-t).
func printRows(env *Env, a psqlArgs, header []string, rows [][]string, numeric []bool) {
	footer := fmt.Sprintf("(%d row", len(rows))
	if len(rows) != 1 {
		footer += "s"
	}
	footer += ")"
	if a.unaligned {
		if !a.tuplesOnly {
			fmt.Fprintln(env.Stdout, strings.Join(header, a.sep))
		}
		for _, r := range rows {
			fmt.Fprintln(env.Stdout, strings.Join(r, a.sep))
		}
		if !a.tuplesOnly {
			fmt.Fprintln(env.Stdout, footer)
		}
		return
	}
	width := make([]int, len(header))
	for i, h := range header {
		if !a.tuplesOnly {
			width[i] = len(h)
		}
		for _, r := range rows {
			width[i] = max(width[i], len(r[i]))
		}
	}
	cells := func(r []string, center bool) string {
		parts := make([]string, len(r))
		for i, c := range r {
			pad := width[i] - len(c)
			switch {
			case center:
				parts[i] = strings.Repeat(" ", pad/2) + c + strings.Repeat(" ", pad-pad/2)
			case numeric[i]:
				parts[i] = strings.Repeat(" ", pad) + c
			default:
				parts[i] = c + strings.Repeat(" ", pad)
			}
		}
		return strings.TrimRight(" "+strings.Join(parts, " | "), " ")
	}
	if !a.tuplesOnly {
		fmt.Fprintln(env.Stdout, cells(header, true)+" ")
		dashes := make([]string, len(width))
		for i, w := range width {
			dashes[i] = strings.Repeat("-", w+2)
		}
		fmt.Fprintln(env.Stdout, strings.Join(dashes, "+"))
	}
	for _, r := range rows {
		fmt.Fprintln(env.Stdout, cells(r, false))
	}
	if !a.tuplesOnly {
		fmt.Fprintln(env.Stdout, footer)
		fmt.Fprintln(env.Stdout)
	}
}
