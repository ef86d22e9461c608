package builder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/harborbundle/bundle/harbor"
)

// plan is what a build makes, decided from the options and the catalog before any network.
type plan struct {
	release      *harbor.Release
	images       []harbor.Image // in the order they go into the payload
	components   []string       // "core" then the chosen optional components
	fromVersions []string       // exact catalog versions the bundle upgrades from
	output       string
	// hops, chains and catalog are set for a multi-hop build only (see hops.go); images is
	// then every hop's images, each once, in hop order.
	hops    []*hopPlan
	chains  *harbor.ChainPlan
	catalog *harbor.Catalog
	// scanDBs are the Trivy DBs to carry, pulled and checked (scandb.go).
	scanDBs []*pulledScanDB
}

// makePlan resolves the release, the images of the chosen components and the output name.
func makePlan(s *settings) (*plan, error) {
	cat, err := harbor.LoadCatalog(s.CatalogFiles...)
	if err != nil {
		return nil, asInput(err)
	}
	rel, err := cat.Get(s.Version)
	if err != nil {
		return nil, asInput(err)
	}
	images, err := rel.ImagesFor(s.Components)
	if err != nil {
		return nil, asInput(err)
	}
	p := &plan{release: rel, images: images, components: []string{harbor.Core}}
	for _, c := range rel.Components() {
		if containsComponent(images, c) {
			p.components = append(p.components, c)
		}
	}
	for _, r := range cat.Releases() {
		if rel.AcceptsFrom(r.Semver()) {
			p.fromVersions = append(p.fromVersions, r.Version)
		}
	}
	if len(s.From) > 0 {
		if err := planHops(s, cat, p); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("harbor-upgrade-%s.run", rel.Semver().Line())
	if len(p.hops) > 0 {
		// The oldest version it starts from names it too: harbor-upgrade-1.10-to-2.15.run.
		from, _ := harbor.ParseVersion(p.fromVersions[0])
		name = fmt.Sprintf("harbor-upgrade-%s-to-%s.run", from.Line(), rel.Semver().Line())
	}
	if p.output = s.Output; p.output == "" {
		p.output = name
	} else if st, err := os.Stat(p.output); err == nil && st.IsDir() {
		p.output = filepath.Join(p.output, name) // -o /media/usb
	}
	if p.output, err = filepath.Abs(p.output); err != nil {
		return nil, err
	}
	return p, nil
}

func containsComponent(images []harbor.Image, c string) bool {
	for _, img := range images {
		if img.Component == c {
			return true
		}
	}
	return false
}

// asInput marks the catalog's own refusals (unknown version, unknown component, bad catalog
// file) as bad input; they carry their explanation already.
func asInput(err error) error {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) && ec.ExitCode() == 2 {
		return &InputError{err}
	}
	return &InputError{fmt.Errorf("reading the release catalog: %w", err)}
}
