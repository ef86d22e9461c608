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

// schemaState is golang-migrate's schema_migrations row.
type schemaState struct {
	Version int  `json:"version"`
	Dirty   bool `json:"dirty"`
}

// store is the fake database: one JSON file per table in the data directory, each replaced
// atomically, so killing the process never leaves a half-written table.
type store struct {
	dir string
	mu  sync.Mutex
}

var tableName = regexp.MustCompile(`^[a-z_]{1,64}$`)

// openStore checks the data directory as postgres does and initialises it when empty.
func openStore(env *Env, dir string, uid int) (*store, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("FATAL:  data directory %q does not exist", pgData)
	}
	if owner(st) != uid {
		return nil, fmt.Errorf("FATAL:  data directory %q has wrong ownership\nHINT:  The server must be started by the user that owns the data directory.", pgData)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil { // the entrypoint's `chmod 700 $PGDATA`
			return nil, fmt.Errorf("FATAL:  could not change permissions of %q: %w", pgData, err)
		}
	}
	s := &store{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := s.initdb(env); err != nil {
			return nil, err
		}
	}
	// Read everything once: a file the server cannot read (restored as root, say) stops it at
	// start, as postgres stops on its first unreadable relation.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("FATAL:  could not open directory %q: %w", pgData, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if _, err := os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("FATAL:  could not open file %q: %w", e.Name(), err)
			}
		}
	}
	return s, nil
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
	if err := writeAtomic(filepath.Join(s.dir, "schema_migrations.json"), []byte(`{"version":0,"dirty":false}`), 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.dir, "PG_VERSION"), []byte("9.6\n"), 0o600)
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

func (s *store) serveTable(w http.ResponseWriter, r *http.Request) {
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

// runDB is harbor-db.
func runDB(env *Env, _ []string) int {
	dir := env.Path(pgData)
	uid, err := runAsOwner(env, "db", dir, uidPostgres, 0o700)
	if err != nil {
		env.logf("db", "%v", err)
		return exitFail
	}
	s, err := openStore(env, dir, uid)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	env.logf("db", "database system is ready to accept connections")
	return serve(env, "db", env.listenAddr(5432), s.handler())
}
