package docker

import (
	"context"
	"fmt"
)

// Exec runs a command in a running container (`docker exec CONTAINER ARGS...`) and returns
// what it printed on stdout. Its output is data for the caller (a query): it stays out of the
// log, which gets only the command line and, on failure, its stderr.
func (r *Runner) Exec(ctx context.Context, container string, args ...string) (string, error) {
	out, err := r.exec(ctx, call{bin: r.docker(), args: append([]string{"exec", container}, args...), query: true})
	if err != nil {
		return string(out), fmt.Errorf("running %v in %s: %w", args, container, err)
	}
	return string(out), nil
}
