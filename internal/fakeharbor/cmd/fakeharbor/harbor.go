package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/internal/e2elock"
	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// harborVerb installs, seeds, checks or removes a fake Harbor kept in a workspace directory, for
// the demo and for anyone reproducing a test by hand.
func harborVerb(ctx context.Context, verb string, c common, opts fakeharbor.Options, stdout io.Writer) error {
	switch verb {
	case "install":
		return install(ctx, c, opts, stdout)
	case "remove":
		h, err := fakeharbor.OpenHarbor(c.dir)
		if err != nil {
			return err
		}
		return h.Remove(ctx)
	}
	h, err := fakeharbor.OpenHarbor(c.dir)
	if err != nil {
		return err
	}
	seededFile := filepath.Join(c.dir, "seeded.json")
	if verb == "seed" {
		s, err := h.Seed(ctx)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(seededFile, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded project=%s blob=%s\n", s.Project, s.Digest)
		return nil
	}
	version := c.version
	if version == "" {
		version = h.Version
	}
	if err := h.WaitHealthy(ctx, version, c.timeout); err != nil {
		return err
	}
	b, err := os.ReadFile(seededFile)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "healthy version=%s (nothing seeded to check)\n", h.Version)
		return nil
	}
	var s fakeharbor.Seeded
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reading %s: %w", seededFile, err)
	}
	if err := h.CheckSeeded(ctx, &s); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "healthy version=%s seeded data intact\n", h.Version)
	return nil
}

func install(ctx context.Context, c common, opts fakeharbor.Options, stdout io.Writer) error {
	if c.version == "" {
		return fmt.Errorf("%w: install needs --version", errUsage)
	}
	b, err := fakeharbor.NewBuilder(ctx, opts)
	if err != nil {
		return err
	}
	// Tests hold the lock while they use the engine; the demo's Harbor waits for them.
	unlock, err := e2elock.Acquire()
	if err != nil {
		return err
	}
	defer unlock()
	installOpts := fakeharbor.InstallOptions{Version: c.version, Offline: c.offline, Builder: b, Parent: c.dir, HealthTimeout: c.timeout}
	if c.components != "" {
		installOpts.Components = strings.Split(c.components, ",")
	}
	h, err := fakeharbor.InstallContext(ctx, installOpts)
	if err != nil {
		if h != nil {
			fmt.Fprintln(os.Stderr, h.Log.Tail(4000))
			if rerr := h.Remove(context.Background()); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return err
	}
	fmt.Fprintf(stdout, "dir=%s url=%s data=%s version=%s\n", h.Dir, h.URL(""), h.DataVolume, h.Version)
	return nil
}
