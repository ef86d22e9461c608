package upgrade

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The dirty-database check asks harbor-db's psql for schema_migrations, the way real Harbor
// keeps golang-migrate's state, and says when it cannot ask.
func TestSchemaChecker(t *testing.T) {
	running := &Install{Containers: []Container{{Name: "harbor-core", State: "running"}, {Name: "harbor-db", State: "running"}}}
	cases := []struct {
		name   string
		in     *Install
		answer string
		err    error
		want   string // "" clean, "dirty", "not checked"
	}{
		{"clean", running, "30|f\n", nil, ""},
		{"no row yet", running, "\n", nil, ""},
		{"dirty", running, "30|t\n", nil, "dirty"},
		{"psql fails", running, "", errors.New(`relation "schema_migrations" does not exist`), "not checked"},
		{"odd answer", running, "hello\n", nil, "not checked"},
		{"stopped", &Install{Containers: []Container{{Name: "harbor-db", State: "exited"}}}, "30|t\n", nil, "not checked"},
	}
	for _, c := range cases {
		var asked []string
		eng := &runOnlyEngine{exec: func(container string, args []string) (string, error) {
			asked = append([]string{container}, args...)
			return c.answer, c.err
		}}
		err := DefaultDBChecker(eng).CheckDB(context.Background(), c.in)
		var dirty *DirtyDBError
		var notChecked *DBNotCheckedError
		switch {
		case c.want == "" && err != nil, c.want == "dirty" && !errors.As(err, &dirty), c.want == "not checked" && !errors.As(err, &notChecked):
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		if c.want == "dirty" && !strings.Contains(err.Error(), "version 30") {
			t.Errorf("%s: evidence %v", c.name, err)
		}
		if asked != nil && strings.Join(asked, " ") != "harbor-db psql -U postgres -d registry -t -A -F | -c SELECT version, dirty FROM schema_migrations" {
			t.Errorf("%s: asked %q", c.name, asked)
		}
	}
}

// A check that could not be made is shown, not refused on.
func TestEvaluateDBNotChecked(t *testing.T) {
	f := goodFacts()
	f.dbErr = &DBNotCheckedError{Reason: "harbor-db is not running (Harbor is stopped)"}
	for _, c := range evaluate(f) {
		if c.Name == "database" && (!c.OK || !c.Warn || !strings.Contains(c.Detail, "could not be checked")) {
			t.Errorf("database check: %+v", c)
		}
	}
}
