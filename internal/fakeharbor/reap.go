package fakeharbor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"os"
	"path/filepath"
	"syscall"

	"github.com/harborbundle/bundle/internal/docker"
)

// A test killed by `go test -timeout` (or kill -9) never runs its cleanups, and the Harbor it
// left (fixed container names, fixed tags) would make every later install fail. So each
// workspace records who made it and what was there before (owner.json); the next workspace,
// holding the e2e lock, removes what a dead owner left, exactly as that owner's Remove would
// have. Workspaces of live processes are never touched.

const ownerFile = "owner.json"

type owner struct {
	PID        int      `json:"pid"`
	Keep       bool     `json:"keep,omitempty"`
	PreImages  []string `json:"preImages"`
	NetExisted bool     `json:"netExisted"`
	Version    string   `json:"version"`
	Components []string `json:"components,omitempty"`
	Port       int      `json:"port"`
}

func (h *Harbor) writeOwner(pid int) error {
	o := owner{PID: pid, Keep: h.keep, NetExisted: h.netExisted, Version: h.Version, Components: h.Components, Port: h.Port}
	for ref := range h.preImages {
		o.PreImages = append(o.PreImages, ref)
	}
	b, _ := json.Marshal(o)
	return atomicfile.Write(filepath.Join(h.Parent, ownerFile), b, 0o644)
}

// reapStale removes the workspaces (containers, network, images, directory) of dead owners.
func reapStale(ctx context.Context, r *docker.Runner) error {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), "fakeharbor-*", ownerFile))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var o owner
		if json.Unmarshal(b, &o) != nil || o.Keep || o.PID <= 0 || alive(o.PID) {
			continue
		}
		h := harborFromOwner(filepath.Dir(f), o)
		h.Docker = r
		errs = append(errs, h.Remove(ctx))
	}
	return errors.Join(errs...)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// OpenHarbor finds the Harbor installed in workspace parent by an earlier process (see
// InstallOptions.Parent), to seed, check or remove it.
func OpenHarbor(parent string) (*Harbor, error) {
	b, err := os.ReadFile(filepath.Join(parent, ownerFile))
	if err != nil {
		return nil, fmt.Errorf("opening fake harbor workspace %s: %w", parent, err)
	}
	var o owner
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(parent, ownerFile), err)
	}
	log := &SyncBuffer{}
	h := harborFromOwner(parent, o)
	h.Docker, h.Log = &docker.Runner{Log: log}, log
	return h, nil
}

func harborFromOwner(parent string, o owner) *Harbor {
	h := &Harbor{Version: o.Version, Components: o.Components, Parent: parent, Dir: filepath.Join(parent, "harbor"),
		DataVolume: filepath.Join(parent, "data"), LogDir: filepath.Join(parent, "log"), Port: o.Port,
		Log: &SyncBuffer{}, preImages: map[string]bool{}, netExisted: o.NetExisted, keep: o.Keep}
	for _, ref := range o.PreImages {
		h.preImages[ref] = true
	}
	return h
}
