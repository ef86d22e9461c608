package upgrade

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// countsEngine answers the two count queries as the fake (and real) psql -t -A does.
func countsEngine(projects, repos string, fail error) *runOnlyEngine {
	return &runOnlyEngine{exec: func(c string, a []string) (string, error) {
		if fail != nil {
			return "", fail
		}
		if c != "harbor-db" || len(a) < 2 || a[0] != "psql" {
			return "", errors.New("unexpected exec " + c + " " + strings.Join(a, " "))
		}
		switch a[len(a)-1] {
		case "SELECT count(*) FROM project WHERE deleted = false":
			return projects, nil
		case "SELECT count(*) FROM repository":
			return repos, nil
		}
		return "", errors.New("unexpected query " + a[len(a)-1])
	}}
}

func TestReadAndCompareCounts(t *testing.T) {
	ctx := context.Background()
	c, err := readCounts(ctx, countsEngine("3\n", "12\n", nil))
	if err != nil || *c != (DataCounts{Projects: 3, Repositories: 12}) {
		t.Fatalf("counts %v %v", c, err)
	}
	if _, err := readCounts(ctx, countsEngine("ERROR: relation \"project\" does not exist\n", "0\n", nil)); err == nil || !strings.Contains(err.Error(), "not a count") {
		t.Errorf("garbage answer: %v", err)
	}
	before := &DataCounts{Projects: 3, Repositories: 12}
	for _, tc := range []struct {
		after *DataCounts
		fail  bool
	}{
		{&DataCounts{3, 12}, false}, {&DataCounts{4, 13}, false},
		{&DataCounts{1, 0}, true}, {&DataCounts{3, 11}, true}, {&DataCounts{2, 40}, true},
	} {
		err := compareCounts(before, tc.after)
		var loss *DataLossError
		if tc.fail != errors.As(err, &loss) {
			t.Errorf("%v -> %v: %v", before, tc.after, err)
		}
	}
	if err := compareCounts(nil, &DataCounts{}); err != nil {
		t.Errorf("unknown before: %v", err)
	}
}

// A stopped Harbor's counts cannot be read: the plan and the journal say so, and the check
// after health only logs what the new one has.
func TestCountsBeforeStoppedHarbor(t *testing.T) {
	ctx := context.Background()
	in := &Install{Containers: []Container{{Name: "harbor-db", State: "exited"}}}
	c, why := countsBefore(ctx, countsEngine("1", "1", nil), in)
	if c != nil || !strings.Contains(why, "not running") {
		t.Errorf("stopped: %v %q", c, why)
	}
	in.Containers[0].State = "running"
	c, why = countsBefore(ctx, countsEngine("5", "7", nil), in)
	if c == nil || c.Projects != 5 || why != "" {
		t.Errorf("running: %v %q", c, why)
	}
	c, why = countsBefore(ctx, countsEngine("", "", errors.New("exit status 2")), in)
	if c != nil || !strings.Contains(why, "exit status 2") {
		t.Errorf("psql fails: %v %q", c, why)
	}
}

// checkCounts after health: fewer is a failure that names both, equal passes and is journaled,
// unknown before only logs.
func TestCheckCountsAfterHealth(t *testing.T) {
	dir := t.TempDir()
	j, err := newJournal(dir, time.Now(), "v2.8.6", "v2.10.3")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	u := &Upgrade{journal: j, log: newRunLog(), o: Options{Out: &out}}
	j.CountsBefore = &DataCounts{Projects: 2, Repositories: 5}
	u.o.Engine = countsEngine("1\n", "0\n", nil) // what a freshly initialised database has
	err = u.checkCounts(context.Background())
	var loss *DataLossError
	if !errors.As(err, &loss) || !strings.Contains(err.Error(), "1 projects, 0 repositories") || !strings.Contains(err.Error(), "2 projects, 5 repositories") {
		t.Errorf("empty new database: %v", err)
	}
	u.o.Engine = countsEngine("2\n", "5\n", nil)
	if err := u.checkCounts(context.Background()); err != nil {
		t.Errorf("same data: %v", err)
	}
	back, err := ReadJournal(j.Dir())
	if err != nil || back.CountsAfter == nil || *back.CountsAfter != (DataCounts{2, 5}) || *back.CountsBefore != (DataCounts{2, 5}) {
		t.Errorf("journal: %+v %v", back, err)
	}
	u.o.Engine = countsEngine("", "", errors.New("no such container"))
	if err := u.checkCounts(context.Background()); err == nil {
		t.Error("counts known before, unreadable after: passed")
	}
	j.CountsBefore, j.CountsUnknown = nil, "harbor-db is not running"
	if err := u.checkCounts(context.Background()); err != nil {
		t.Errorf("unknown before, unreadable after: %v", err)
	}
}
