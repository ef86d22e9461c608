package upgrade

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/harborbundle/bundle/harbor"
)

// pgClusters reads which PostgreSQL clusters data_volume/database holds, as harbor-db's
// entrypoint finds them: PostgreSQL 9.6 (harbor-db up to 2.2) keeps its cluster in database/
// itself, every later major in database/pgNN; each cluster has a non-empty PG_VERSION file
// naming its major ("9.6", "13"). The majors are returned sorted.
func pgClusters(dataVolume string) ([]string, error) {
	db := filepath.Join(dataVolume, "database")
	entries, err := os.ReadDir(db)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", db, err)
	}
	var majors []string
	if m, ok, err := readPGVersion(db); err != nil {
		return nil, err
	} else if ok {
		majors = append(majors, m)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "pg") {
			continue
		}
		m, ok, err := readPGVersion(filepath.Join(db, e.Name()))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // initdb died before writing it: the entrypoint treats it as absent too
		}
		if strings.ReplaceAll(m, ".", "") != strings.TrimPrefix(e.Name(), "pg") {
			return nil, fmt.Errorf("%s/PG_VERSION says %s: not where harbor-db keeps PostgreSQL %s", filepath.Join(db, e.Name()), m, m)
		}
		majors = append(majors, m)
	}
	sort.Strings(majors)
	return majors, nil
}

// readPGVersion reads dir/PG_VERSION; ok is false when it is missing or empty (the entrypoint
// tests `-s`).
func readPGVersion(dir string) (major string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	m := strings.TrimSpace(string(b))
	return m, m != "", nil
}

// postgresStep decides what the target's harbor-db will do with the clusters found, from the
// catalog's postgres facts. It returns the plan's line for it, or why the target must not be
// started on this data: it would initialise an empty database (no cluster of a major it
// uses), or refuse the data (9.6 from 2.7 on). via names the release to go through.
func postgresStep(majors []string, readErr error, target *harbor.Release, cat *harbor.Catalog) (string, error) {
	switch {
	case readErr != nil:
		return "", fmt.Errorf("cannot tell which PostgreSQL data harbor-db would find: %v", readErr)
	case target == nil || !target.Postgres.Known():
		if len(majors) == 0 {
			return "", errors.New("no PostgreSQL cluster found in data_volume/database (no PG_VERSION there nor in a pgNN dir): the new harbor-db would start on an empty database")
		}
		return "PostgreSQL " + strings.Join(majors, ", ") + " (the catalog does not say what the new harbor-db does with it)", nil
	case len(majors) == 0:
		return "", fmt.Errorf("no PostgreSQL cluster found in data_volume/database (no PG_VERSION there nor in a pgNN dir): %s's harbor-db would initialise an EMPTY database", target.Version)
	case len(majors) > 1:
		return "", fmt.Errorf("data_volume/database holds clusters of several PostgreSQL majors (%s); harbor-db uses one: keep the one Harbor runs on (move the other away, after a backup) and run again",
			strings.Join(majors, ", "))
	}
	have, p := majors[0], target.Postgres
	if p.Uses(have) {
		if have == p.Major {
			return fmt.Sprintf("PostgreSQL %s (%s, kept as it is)", have, harbor.DataDir(have)), nil
		}
		return fmt.Sprintf("PostgreSQL %s -> %s (pg_upgrade at first start; the old cluster %s is deleted, only the backup brings it back)",
			have, p.Major, harbor.DataDir(have)), nil
	}
	what := "initialise an EMPTY database beside it"
	if have == "9.6" && p.UpgradesFrom == "" {
		// Its entrypoint exits when database/PG_VERSION is there (the 9.6 path is blocked).
		what = "refuse it (or start on an EMPTY database)"
	}
	msg := fmt.Sprintf("the data is PostgreSQL %s (%s) but %s's harbor-db runs PostgreSQL %s and upgrades %s: it would %s",
		have, harbor.DataDir(have), target.Version, p.Major, orNothing(p.UpgradesFrom), what)
	if via := cat.PostgresVia(have, target); via != nil {
		msg += fmt.Sprintf("; upgrade to %s first (its harbor-db upgrades PostgreSQL %s to %s)", cat.StepName(via), have, via.Postgres.Major)
	}
	return "", errors.New(msg)
}

func orNothing(major string) string {
	if major == "" {
		return "nothing"
	}
	return "only " + major
}
