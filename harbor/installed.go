package harbor

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Installed is what the images of a Harbor install say about it: the product version (from
// harbor-core's tag, since harbor.yml's _version names only the config schema) and the optional
// components it runs.
type Installed struct {
	Version    Version
	Components []string // optional components in use, in catalog order
	Images     []string // every image reference, sorted
}

// componentOfImage maps an image's last path element to its optional component.
var componentOfImage = map[string]string{
	"notary-server-photon": Notary, "notary-signer-photon": Notary,
	"clair-photon": Clair, "clair-adapter-photon": Clair,
	"chartmuseum-photon": Chartmuseum, "trivy-adapter-photon": Trivy,
}

// InstalledFromImages reads the version and components from image references, such as those
// of the running containers (`docker ps`) or of docker-compose.yml. Mirror prefixes are fine:
// only the last path element and the tag are read.
func InstalledFromImages(refs []string) (*Installed, error) {
	in := &Installed{}
	seen := map[string]bool{}
	found := false
	for _, ref := range refs {
		name, tag := splitRef(ref)
		if name == "harbor-core" {
			v, err := ParseVersion(tag)
			if err != nil {
				return nil, fmt.Errorf("reading Harbor version from image %s: %w", ref, err)
			}
			if found && v != in.Version {
				return nil, fmt.Errorf("reading Harbor version: two harbor-core images, %s and %s; stop the stray one first", in.Version, v)
			}
			in.Version, found = v, true
		}
		if c := componentOfImage[name]; c != "" {
			seen[c] = true
		}
		in.Images = append(in.Images, ref)
	}
	if !found {
		return nil, fmt.Errorf("reading Harbor version: no goharbor/harbor-core image among %d images; is this a Harbor install?", len(refs))
	}
	for _, c := range optionalComponents {
		if seen[c] {
			in.Components = append(in.Components, c)
		}
	}
	sort.Strings(in.Images)
	return in, nil
}

// splitRef returns the last path element of an image reference and its tag ("" if none).
func splitRef(ref string) (name, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		ref, tag = ref[:colon], ref[colon+1:]
	}
	return ref[slash+1:], tag
}

// InstalledFromCompose reads the `image:` of every service in a docker-compose.yml that
// Harbor's prepare wrote. The file gets the same hostile-input limits as harbor.yml.
func InstalledFromCompose(b []byte) (*Installed, error) {
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("reading docker-compose.yml: %w", err)
	}
	services := c.lookup([]string{"services"})
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("reading docker-compose.yml: no services mapping")
	}
	var refs []string
	for i := 1; i < len(services.Content); i += 2 {
		svc := resolve(services.Content[i])
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		if _, img := mappingEntry(svc, "image"); img != nil && img.Kind == yaml.ScalarNode && img.Value != "" {
			refs = append(refs, img.Value)
		}
	}
	return InstalledFromImages(refs)
}
