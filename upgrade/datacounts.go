package upgrade

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DataCounts are what an administrator would first miss after an upgrade that started on the
// wrong database: the projects and repositories Harbor keeps in its registry database.
type DataCounts struct {
	Projects     int `json:"projects"`
	Repositories int `json:"repositories"`
}

func (c *DataCounts) String() string {
	if c == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d projects, %d repositories", c.Projects, c.Repositories)
}

// The counts are read with psql inside harbor-db, as real Harbor keeps them (-t -A: one number
// and a newline). Deleted projects stay in the table with deleted = true.
var (
	projectsQuery = []string{"psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-c",
		"SELECT count(*) FROM project WHERE deleted = false"}
	repositoriesQuery = []string{"psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-c",
		"SELECT count(*) FROM repository"}
)

// readCounts asks the running harbor-db.
func readCounts(ctx context.Context, eng Engine) (*DataCounts, error) {
	p, err := countQuery(ctx, eng, projectsQuery)
	if err != nil {
		return nil, err
	}
	r, err := countQuery(ctx, eng, repositoriesQuery)
	if err != nil {
		return nil, err
	}
	return &DataCounts{Projects: p, Repositories: r}, nil
}

func countQuery(ctx context.Context, eng Engine, q []string) (int, error) {
	out, err := eng.Exec(ctx, dbContainer, q...)
	if err != nil {
		return 0, fmt.Errorf("psql in %s (%s): %w", dbContainer, q[len(q)-1], err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("psql in %s (%s) answered %q, not a count", dbContainer, q[len(q)-1], strings.TrimSpace(out))
	}
	return n, nil
}

// countsBefore reads the counts from the old Harbor while it runs; when it cannot (Harbor is
// stopped, psql fails) the reason is returned instead and the check after the upgrade only
// logs what it finds: there is nothing to compare with.
func countsBefore(ctx context.Context, eng Engine, in *Install) (*DataCounts, string) {
	if !dbRunning(in) {
		return nil, dbContainer + " is not running (Harbor is stopped): the counts after the upgrade cannot be compared with anything"
	}
	c, err := readCounts(ctx, eng)
	if err != nil {
		return nil, err.Error() + ": the counts after the upgrade cannot be compared with anything"
	}
	return c, ""
}

// DataLossError is a new Harbor that came up healthy on fewer projects or repositories than
// the old one had: it started on another (or an emptied) database. A failed upgrade.
type DataLossError struct{ Before, After *DataCounts }

func (e *DataLossError) Error() string {
	return fmt.Sprintf("the new Harbor has %s, the old one had %s: it is not running on the old data", e.After, e.Before)
}

// compareCounts: fewer of either is a failed upgrade; more is someone using the new Harbor
// already, and unknown before compares with nothing.
func compareCounts(before, after *DataCounts) error {
	if before == nil || after == nil {
		return nil
	}
	if after.Projects < before.Projects || after.Repositories < before.Repositories {
		return &DataLossError{Before: before, After: after}
	}
	return nil
}
