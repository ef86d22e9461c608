package upgrade

import (
	"context"
	"fmt"
	"strings"
)

// DBChecker finds a Harbor database left "dirty" by an interrupted schema migration: core then
// crash-loops ("Dirty database version N") until the database is restored, so neither an
// upgrade nor a rollback onto it can succeed. A check that cannot be made returns
// *DBNotCheckedError, which the plan shows and does not refuse on.
type DBChecker interface {
	CheckDB(ctx context.Context, in *Install) error
}

// DirtyDBError is a dirty database.
type DirtyDBError struct{ Evidence string }

func (e *DirtyDBError) Error() string {
	return "the database is marked dirty by a failed schema migration (" + e.Evidence + "); restore it from the backup taken before that migration (`rollback`), then run again"
}

// DBNotCheckedError says why the database state could not be read: not a reason to refuse
// (a stopped Harbor is upgraded too), but the plan says so.
type DBNotCheckedError struct{ Reason string }

func (e *DBNotCheckedError) Error() string {
	return "the schema state could not be checked: " + e.Reason
}

// dbContainer is the container_name real Harbor's docker-compose.yml gives its PostgreSQL.
const dbContainer = "harbor-db"

// schemaQuery reads golang-migrate's state, as real Harbor keeps it: the one row of
// schema_migrations in the registry database, printed unaligned as "30|f".
var schemaQuery = []string{"psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-F", "|",
	"-c", "SELECT version, dirty FROM schema_migrations"}

// DefaultDBChecker asks the running harbor-db for its schema_migrations row.
func DefaultDBChecker(eng Engine) DBChecker { return schemaChecker{eng} }

// schemaChecker reads schema_migrations with psql inside harbor-db. Only meaningful while no
// core is migrating (each step reads dirty until it completes): before the upgrade stops Harbor.
type schemaChecker struct{ eng Engine }

func (c schemaChecker) CheckDB(ctx context.Context, in *Install) error {
	if !dbRunning(in) {
		return &DBNotCheckedError{Reason: dbContainer + " is not running (Harbor is stopped)"}
	}
	out, err := c.eng.Exec(ctx, dbContainer, schemaQuery...)
	if err != nil {
		return &DBNotCheckedError{Reason: fmt.Sprintf("psql in %s failed: %v", dbContainer, err)}
	}
	return parseSchemaState(out)
}

func dbRunning(in *Install) bool {
	for _, ct := range in.Containers {
		if ct.Name == dbContainer && ct.State == "running" {
			return true
		}
	}
	return false
}

// parseSchemaState reads psql's "version|dirty" rows: no row is a database core has not
// migrated yet (clean); a row that is not "N|t" or "N|f" is a check that could not be made.
func parseSchemaState(out string) error {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		version, dirty, ok := strings.Cut(line, "|")
		if !ok || (dirty != "t" && dirty != "f") {
			return &DBNotCheckedError{Reason: fmt.Sprintf("unexpected answer from schema_migrations: %q", line)}
		}
		if dirty == "t" {
			return &DirtyDBError{Evidence: fmt.Sprintf("schema_migrations in %s: version %s, dirty", dbContainer, version)}
		}
	}
	return nil
}

// coreLogChecker looks for core's refusal in its last log lines. It is the check that holds
// while core runs (the health wait): the schema state reads dirty during every normal
// migration step, but core says "Dirty database version" only when it refuses to start.
type coreLogChecker struct{ eng Engine }

func (c coreLogChecker) CheckDB(ctx context.Context, in *Install) error {
	for _, ct := range in.Containers {
		if ct.Labels[LabelService] != "core" {
			continue
		}
		logs, err := c.eng.Logs(ctx, ct.ID, 200)
		if err != nil {
			return nil // no log is no evidence
		}
		if i := strings.Index(logs, "Dirty database version"); i >= 0 {
			line := logs[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			return &DirtyDBError{Evidence: "harbor-core: " + strings.TrimSpace(line)}
		}
	}
	return nil
}
