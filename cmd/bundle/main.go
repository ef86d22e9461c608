// Command bundle builds self-extracting Harbor upgrade bundles on a connected machine and, when a
// payload is attached to it, is the upgrader that runs them on the air-gapped host.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
