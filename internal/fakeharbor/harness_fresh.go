package fakeharbor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// A new Harbor's core creates the whole database schema at its first start, one migration after
// the other. The fake paces every migration (the migration-step-ms knob, 100 ms by default) so
// that an upgrade's few migrations last long enough for a kill to land inside them; on a fresh
// install that pacing is only waiting: 2.15's 170 migrations made every 2.x install 17 s longer,
// under the e2e lock that serialises make test. Install sets the pace to 0 for the first start
// and removes the knob once Harbor is healthy, so upgrades and rollbacks keep the default pace.
// Every migration still runs (each marked dirty, then done), as in a real first start.

// freshSchemaKnob is roles' migration-step-ms knob file, relative to data_volume.
var freshSchemaKnob = filepath.Join(".fakeharbor", "migration-step-ms")

// beginFreshSchema makes the first start's migrations unpaced.
func (h *Harbor) beginFreshSchema() error {
	p := filepath.Join(h.DataVolume, freshSchemaKnob)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte("0\n"), 0o644)
}

// endFreshSchema removes the knob (and its directory when nothing else is there: a test may
// have put its own knobs in it).
func (h *Harbor) endFreshSchema() error {
	p := filepath.Join(h.DataVolume, freshSchemaKnob)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	os.Remove(filepath.Dir(p)) // fails, harmlessly, when not empty
	return nil
}
