package main

import (
	"context"
	"errors"
	"os"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/upgrade"
)

// dockerArchiveCmd streams the docker-archive of every image of a bundle to stdout: the same
// payload.Reader.DockerArchive the upgrader's load step pipes into `docker load` (to profile the
// stream alone).
func dockerArchiveCmd(ctx context.Context, args []string) error {
	return withRunPayload(args, func(pr *payload.Reader) error { return pr.DockerArchive(ctx, os.Stdout, nil) })
}

// loadCmd loads every image of a bundle into the Docker engine by the upgrade's own load path
// (upgrade.LoadImages: its pipe into `docker load`), so make bench times what a host runs.
func loadCmd(ctx context.Context, args []string) error {
	return withRunPayload(args, func(pr *payload.Reader) error {
		return upgrade.LoadImages(ctx, pr, upgrade.NewDockerEngine(nil), nil)
	})
}

// withRunPayload opens the one FILE.run of args and calls use with its payload.
func withRunPayload(args []string, use func(*payload.Reader) error) error {
	if len(args) != 1 {
		return errors.New("want one FILE.run")
	}
	b, err := selfextract.Open(args[0])
	if err != nil {
		return err
	}
	defer b.Close()
	pr, err := b.OpenPayload()
	if err != nil {
		return err
	}
	return use(pr)
}
