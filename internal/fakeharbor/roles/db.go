package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// pgData is where harbor-db keeps its data: data_volume/database on the host.
const pgData = "/var/lib/postgresql/data"

// schemaState is golang-migrate's schema_migrations row. Version 0 is no row; Table tells
// whether the table exists without one (2.x harbor-db's initial-registry.sql creates it empty).
type schemaState struct {
	Version int  `json:"version"`
	Dirty   bool `json:"dirty"`
	Table   bool `json:"table,omitempty"`
}

// store is the fake database: one JSON file per table in the data directory, each replaced
// atomically, so killing the process never leaves a half-written table.
type store struct {
	dir string
	mu  sync.Mutex
}

var tableName = regexp.MustCompile(`^[a-z_]{1,64}$`)

// openStore checks the data directory as postgres does and initialises it when empty: harbor-db
// 1.x and 2.0-2.2, whose one 9.6 cluster is the data directory itself.
func openStore(env *Env, dir string, uid int) (*store, error) {
	if err := checkDataDir(env, dir, pgData, uid, true); err != nil {
		return nil, err
	}
	s := &store{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := s.initdb(env); err != nil {
			return nil, err
		}
	}
	return s, s.readAll(pgData)
}

// checkDataDir is postgres's check of its -D directory: it exists and is owned by the server's
// user. 1.x's entrypoint first runs `chmod 700 $PGDATA` (fix); 2.x's does not, and postgres
// refuses a cluster directory open to others.
func checkDataDir(env *Env, dir, shown string, uid int, fix bool) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("FATAL:  data directory %q does not exist", shown)
	}
	if owner(st) != uid {
		return fmt.Errorf("FATAL:  data directory %q has wrong ownership\nHINT:  The server must be started by the user that owns the data directory.", shown)
	}
	if perm := st.Mode().Perm(); perm != 0o700 && (fix || perm != 0o750) {
		if !fix {
			return fmt.Errorf("FATAL:  data directory %q has invalid permissions\nDETAIL:  Permissions should be u=rwx (0700) or u=rwx,g=rx (0750).", shown)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("FATAL:  could not change permissions of %q: %w", shown, err)
		}
	}
	return nil
}

// readAll reads every table once: a file the server cannot read (restored as root, say) stops
// it at start, as postgres stops on its first unreadable relation.
func (s *store) readAll(shown string) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("FATAL:  could not open directory %q: %w", shown, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if _, err := os.ReadFile(filepath.Join(s.dir, e.Name())); err != nil {
				return fmt.Errorf("FATAL:  could not open file %q: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// initdb creates a new cluster, refusing a directory with foreign content as initdb does.
func (s *store) initdb(env *Env) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("initdb: reading %s: %w", pgData, err)
	}
	for _, e := range entries {
		if e.Name() != "lost+found" {
			return fmt.Errorf("initdb: directory %q exists but is not empty", pgData)
		}
	}
	env.logf("db", "initializing database cluster in %s", pgData)
	if err := writeAtomic(filepath.Join(s.dir, schemaFile), emptySchema(env), 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.dir, "PG_VERSION"), []byte("9.6\n"), 0o600)
}

// emptySchema is the schema_migrations state of a new registry database: the table exists
// from 2.0 (db/v2.*/initial-registry.sql creates it); in 1.x it appears with core's first
// migration.
func emptySchema(env *Env) []byte {
	if generationOf(env.Version()).initSchemaTable {
		return []byte(`{"version":0,"dirty":false,"table":true}`)
	}
	return []byte(`{"version":0,"dirty":false}`)
}

// schemaFile is golang-migrate's table; the fake's registry database exists exactly when it does
// (harbor-db's initial-registry.sql creates both at once).
const schemaFile = "schema_migrations.json"

// hasRegistry tells whether the registry database exists in this cluster: not in a cluster that
// initdb made without the init scripts and pg_upgrade has not filled (yet).
func (s *store) hasRegistry() bool {
	_, err := os.Stat(filepath.Join(s.dir, schemaFile))
	return err == nil
}

func (s *store) path(table string) string { return filepath.Join(s.dir, table+".json") }

func (s *store) read(table string, v any) error {
	data, err := os.ReadFile(s.path(table))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (s *store) write(table string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(s.path(table), data, 0o600)
}

// handler serves the fake wire protocol:
//
//	GET  /health                    200 when the store is open
//	GET  /schema_migrations         {"version":N,"dirty":bool}
//	PUT  /schema_migrations         same body
//	GET  /tables/NAME               JSON array of rows ([] when the table is empty)
//	PUT  /tables/NAME               replaces the table with the JSON array given
//	POST /tables/NAME               appends one row (a JSON object), returns the array
func (s *store) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("GET /schema_migrations", func(w http.ResponseWriter, _ *http.Request) {
		if !s.hasRegistry() {
			http.Error(w, noRegistry, http.StatusNotFound)
			return
		}
		var st schemaState
		s.mu.Lock()
		err := s.read("schema_migrations", &st)
		s.mu.Unlock()
		reply(w, st, err)
	})
	mux.HandleFunc("PUT /schema_migrations", func(w http.ResponseWriter, r *http.Request) {
		var st schemaState
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		err := s.write("schema_migrations", st)
		s.mu.Unlock()
		reply(w, st, err)
	})
	mux.HandleFunc("/tables/{name}", s.serveTable)
	return mux
}

// noRegistry is postgres's answer to a connection to a database that does not exist.
const noRegistry = `FATAL:  database "registry" does not exist`

func (s *store) serveTable(w http.ResponseWriter, r *http.Request) {
	if !s.hasRegistry() {
		http.Error(w, noRegistry, http.StatusNotFound)
		return
	}
	name := r.PathValue("name")
	if !tableName.MatchString(name) {
		http.Error(w, "bad table name", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := []json.RawMessage{}
	if err := s.read(name, &rows); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch r.Method {
	case http.MethodGet:
		reply(w, rows, nil)
	case http.MethodPut:
		var all []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&all); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply(w, all, s.write(name, all))
	case http.MethodPost:
		var row map[string]any
		if err := json.NewDecoder(r.Body).Decode(&row); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raw, _ := json.Marshal(row)
		rows = append(rows, raw)
		reply(w, rows, s.write(name, rows))
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// reply writes v as JSON, or err as a 500.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// runDB is harbor-db. args are its image's ENTRYPOINT arguments after docker-entrypoint.sh (see
// releases.tsv): none for the 9.6 images (1.x, 2.0-2.2), else the old and new PostgreSQL majors,
// read as the real docker-entrypoint.sh reads $1 $2 (db_entrypoint.go).
func runDB(env *Env, args []string) int {
	if len(args) != 0 && len(args) != 2 {
		fmt.Fprintf(env.Stderr, "db: want no arguments or OLD NEW (the PostgreSQL majors), got %q\n", args)
		return exitUsage
	}
	dir := env.Path(pgData)
	uid, err := runAsOwner(env, "db", dir, uidPostgres, 0o700)
	if err != nil {
		env.logf("db", "%v", err)
		return exitFail
	}
	var s *store
	if len(args) == 0 {
		s, err = openStore(env, dir, uid)
		if err != nil {
			fmt.Fprintln(env.Stderr, err)
			return exitFail
		}
	} else {
		var code int
		if s, code = entrypoint(env, dir, uid, args[0], args[1]); s == nil {
			return code
		}
	}
	env.logf("db", "database system is ready to accept connections")
	return serve(env, "db", env.listenAddr(5432), s.handler())
}
