package upgrade

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DBChecker finds a Harbor database left "dirty" by an interrupted schema migration: core then
// crash-loops ("Dirty database version N") until the database is restored, so neither an
// upgrade nor a rollback onto it can succeed.
type DBChecker interface {
	CheckDB(ctx context.Context, in *Install) error
}

// DirtyDBError is a dirty database.
type DirtyDBError struct{ Evidence string }

func (e *DirtyDBError) Error() string {
	return "the database is marked dirty by a failed schema migration (" + e.Evidence + "); restore it from the backup taken before that migration (`rollback`), then run again"
}

// DefaultDBChecker reads what it can: the schema_migrations state when the database keeps it
// in a file (the fake Harbor's db does), and the core container's recent log (real Harbor: we
// cannot read postgres files, but core says "Dirty database version" when it refuses).
func DefaultDBChecker(eng Engine) DBChecker {
	return dbCheckers{stateFileChecker{}, coreLogChecker{eng}}
}

type dbCheckers []DBChecker

func (cs dbCheckers) CheckDB(ctx context.Context, in *Install) error {
	for _, c := range cs {
		if err := c.CheckDB(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// stateFileChecker reads <data_volume>/database/schema_migrations.json when there is one. Only
// meaningful while no core is migrating: before the upgrade stops Harbor.
type stateFileChecker struct{}

func (stateFileChecker) CheckDB(_ context.Context, in *Install) error {
	path := filepath.Join(in.DataVolume, "database", "schema_migrations.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil // not a database that keeps its state this way
	}
	var st struct {
		Version int  `json:"version"`
		Dirty   bool `json:"dirty"`
	}
	if json.Unmarshal(b, &st) == nil && st.Dirty {
		return &DirtyDBError{Evidence: fmt.Sprintf("%s: version %d dirty", path, st.Version)}
	}
	return nil
}

// coreLogChecker looks for core's refusal in its last log lines. It is the only check that
// also holds while core runs: the schema state reads dirty during every normal migration step.
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
