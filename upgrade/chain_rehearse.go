package upgrade

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// CheckMigrations is the preflight check of a chain that runs every hop's own migrator.
const CheckMigrations = "harbor.yml migrations"

// rehearseChain runs every hop's own migrator, one after the other, on a copy of the installed
// harbor.yml, as the hops will run them (migrateOnce: the same container, the same fixes), and
// checks each result with the models before the next hop's migrator reads it. The Go models
// judge the administrator's file for the first hop only; what a later hop's migrator gets is
// what the real code before it wrote, which only the real code can tell. Nothing of the install
// is touched: the copies live in a 0700 temp dir removed afterwards, and the only change is to
// Docker's image store, the hops' migrator images loaded from the bundle (counted in the image
// space check; the load step finds them present). A dry run loads nothing: it rehearses only
// when every migrator is already loaded, and otherwise says it did not.
func (u *Upgrade) rehearseChain(ctx context.Context, in *Install) Check {
	defer u.enterHop(0) //nolint:errcheck // it succeeded for every hop below
	steps, err := u.migrationSteps(in)
	if err != nil {
		return Check{Name: CheckMigrations, Detail: err.Error()}
	}
	if len(steps) == 0 {
		return Check{Name: CheckMigrations, OK: true, Detail: "no hop migrates harbor.yml (every hop is at _version " + in.ConfigVersion + ")"}
	}
	if skip, err := u.loadMigrators(ctx, steps); err != nil {
		return Check{Name: CheckMigrations, Detail: "loading the hops' migrators from the bundle to rehearse harbor.yml's migrations: " + err.Error()}
	} else if skip != "" {
		return Check{Name: CheckMigrations, OK: true, Warn: true, Detail: skip}
	}
	fmt.Fprintf(u.o.Out, "Rehearsing harbor.yml's migrations through %d hops with their own migrators, on a copy...\n", len(steps))
	tmp, err := os.MkdirTemp("", "bundle-rehearse-")
	if err != nil {
		return Check{Name: CheckMigrations, Detail: err.Error()}
	}
	defer os.RemoveAll(tmp)
	cur, err := os.ReadFile(in.ConfigPath())
	if err != nil {
		return Check{Name: CheckMigrations, Detail: err.Error()}
	}
	from := in.Version
	var done []string
	for i, s := range steps {
		old, err := harbor.ParseConfig(cur)
		if err != nil {
			return Check{Name: CheckMigrations, Detail: fmt.Sprintf("hop %s: harbor.yml as %s leaves it does not parse: %v", s.hop, from, err)}
		}
		if i > 0 { // the first hop's file is the administrator's, judged by the harbor.yml check
			if err := s.modelErr(old); err != nil {
				return Check{Name: CheckMigrations, Detail: fmt.Sprintf("hop %s: harbor.yml as the migrator of %s writes it (_version %s): %v", s.hop, from, old.ConfigVersion(), err)}
			}
		}
		input := filepath.Join(tmp, fmt.Sprintf("%d-%s.yml", i, s.hop))
		if err := os.WriteFile(input, cur, 0o600); err != nil {
			return Check{Name: CheckMigrations, Detail: err.Error()}
		}
		var out bytes.Buffer
		log := io.MultiWriter(u.log, &out)
		fmt.Fprintf(u.log, "rehearsing hop %s: harbor.yml _version %s -> %s on a copy\n", s.hop, old.ConfigVersion(), s.target)
		next, err := migrateOnce(ctx, u.o.Engine, log, s.mig, old, input, filepath.Join(tmp, fmt.Sprintf("%d-out", i)), s.target)
		if err != nil {
			return Check{Name: CheckMigrations, Detail: fmt.Sprintf("hop %s: its migrator %s fails on harbor.yml as %s leaves it (_version %s): %v%s; nothing was changed",
				s.hop, s.mig.Image, from, old.ConfigVersion(), err, lastOutput(out.Bytes()))}
		}
		fmt.Fprintf(u.log, "rehearsed hop %s: harbor.yml sha256:%x\n", s.hop, sha256.Sum256(next))
		done = append(done, fmt.Sprintf("%s (%s)", s.target, s.hop))
		cur, from = next, s.hop
	}
	return Check{Name: CheckMigrations, OK: true, Detail: fmt.Sprintf("rehearsed on a copy with each hop's own migrator: %s -> %s", in.ConfigVersion, strings.Join(done, " -> "))}
}

// migrationStep is one hop's migration of harbor.yml.
type migrationStep struct {
	hop     string
	release string // the hop's release, for the prepare-migrate model
	mig     payload.Migration
	target  string // `_version` it writes
}

// modelErr: the models' judgement of the file the step's migrator will read.
func (s migrationStep) modelErr(c *harbor.Config) error {
	var err error
	if s.mig.Method == harbor.MethodPrepare {
		err = c.CheckForPrepareMigrate(s.release)
	} else {
		err = c.CheckForMigrator(s.target)
	}
	var mi *harbor.MigrationInputError
	if errors.As(err, &mi) {
		return err
	}
	return nil // the models know nothing of this release: the real migrator decides
}

// migrationSteps lists the hops that migrate harbor.yml, each with the `_version` it writes
// (the hop's target, as enterHop finds it for the run itself).
func (u *Upgrade) migrationSteps(in *Install) ([]migrationStep, error) {
	var steps []migrationStep
	prev := in.ConfigVersion
	for i, h := range u.hops {
		if err := u.enterHop(i); err != nil {
			return nil, fmt.Errorf("hop %s: %w", h.Version, err)
		}
		if u.targetConfig == prev {
			continue // a patch hop: harbor.yml is carried as it is
		}
		steps = append(steps, migrationStep{hop: h.Version, release: u.manifest.Release, mig: u.manifest.Migration, target: u.targetConfig})
		prev = u.targetConfig
	}
	return steps, nil
}

// loadMigrators loads the steps' migrator images that are not present with the bundle's ID;
// skip says why a dry run did not rehearse.
func (u *Upgrade) loadMigrators(ctx context.Context, steps []migrationStep) (skip string, err error) {
	var refs []string
	seen := map[string]bool{}
	for _, s := range steps {
		if !seen[s.mig.Image] {
			seen[s.mig.Image] = true
			refs = append(refs, s.mig.Image)
		}
	}
	ids, err := u.o.Engine.ImageIDs(ctx, refs)
	if err != nil {
		return "", err
	}
	want := map[string]string{}
	for _, img := range u.full.Images {
		want[img.Ref] = img.ConfigDigest
	}
	var load []string
	for _, r := range refs {
		if _, ok := want[r]; !ok {
			return "", fmt.Errorf("the bundle does not carry %s", r)
		}
		if ids[r] != want[r] {
			load = append(load, r)
		}
	}
	if len(load) == 0 {
		return "", nil
	}
	if u.o.DryRun {
		return fmt.Sprintf("not rehearsed: a dry run loads no images, and the migrators %s are not loaded yet; the upgrade rehearses every hop's migration before it changes anything", strings.Join(load, " ")), nil
	}
	fmt.Fprintf(u.log, "loading the hops' migrators to rehearse harbor.yml's migrations: %s\n", strings.Join(load, " "))
	fmt.Fprintf(u.o.Out, "Loading %d migrator images from the bundle to rehearse harbor.yml's migrations...\n", len(load))
	if err := streamLoad(ctx, u.src, u.o.Engine, load, nil); err != nil {
		return "", err
	}
	if ids, err = u.o.Engine.ImageIDs(ctx, load); err != nil {
		return "", err
	}
	for _, r := range load {
		if ids[r] != want[r] {
			return "", fmt.Errorf("%s is %q after loading, not %s", r, ids[r], want[r])
		}
	}
	return "", nil
}

// lastOutput is the migrator's last line (a traceback's exception), redacted, for the refusal.
func lastOutput(out []byte) string {
	s := strings.TrimSpace(string(harbor.Redact(out)))
	if s == "" {
		return ""
	}
	return " (its last line: " + lastLine(s) + ")"
}
