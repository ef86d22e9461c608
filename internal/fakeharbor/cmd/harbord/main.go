// Command harbord is the one binary inside every fake Harbor image; the image's entrypoint names
// the role it plays (`/harbor/harbord core`, `/harbor/harbord migrator --cfg up`, ...); run
// through a symlink named after a role (harbor-db's /usr/bin/psql), it plays that role.
package main

import (
	"os"

	"github.com/harborbundle/bundle/internal/fakeharbor/roles"
)

func main() { os.Exit(roles.MainArgv(os.Args)) }
