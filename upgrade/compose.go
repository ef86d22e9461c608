package upgrade

import (
	"fmt"
	"strings"

	"github.com/harborbundle/bundle/harbor"
)

// ComposeTool is the compose program an install is driven with: the `docker compose` v2 CLI
// plugin, or the standalone docker-compose (v1). An install is stopped with the tool that
// started it, and each release's install.sh chooses its own (2.5.4/2.6 on prefer the plugin).
type ComposeTool struct {
	Plugin  bool   `json:"plugin"`
	Version string `json:"version,omitempty"`
	// From says how it was chosen: "install.sh rule of vX" or "container labels".
	From string `json:"from,omitempty"`
}

// Name is the tool as an operator types it.
func (t ComposeTool) Name() string {
	if t.Plugin {
		return "docker compose"
	}
	return "docker-compose"
}

func (t ComposeTool) String() string {
	s := t.Name()
	if t.Version != "" {
		s += " " + t.Version
	}
	if t.From != "" {
		s += " (" + t.From + ")"
	}
	return s
}

// composeHost is what the host has: the plugin's version (`docker compose version --short`)
// and the standalone docker-compose's, each with why it is not usable.
type composeHost struct {
	plugin, standalone       string
	pluginErr, standaloneErr error
}

// composeNeed is what release's install.sh needs, from the catalog; a release it does not know
// gets the 1.x rule (standalone docker-compose 1.18+), which is every install.sh's fallback.
func composeNeed(r *harbor.Release) (harbor.Compose, string) {
	if r == nil {
		return harbor.Compose{StandaloneMin: minCompose}, "install.sh rule of 1.x"
	}
	c := r.Compose
	if c.StandaloneMin == "" {
		c.StandaloneMin = minCompose
	}
	return c, "install.sh rule of " + r.Version
}

// chooseCompose is install.sh's check_dockercompose: the plugin when the release's install.sh
// prefers it and `docker compose version` works, else docker-compose of at least its minimum.
func chooseCompose(need harbor.Compose, from string, h composeHost) (ComposeTool, error) {
	if need.Plugin && h.pluginErr == nil && h.plugin != "" {
		return ComposeTool{Plugin: true, Version: h.plugin, From: from}, nil
	}
	if err := versionErr("docker-compose", h.standalone, h.standaloneErr, need.StandaloneMin); err != nil {
		if need.Plugin {
			return ComposeTool{}, fmt.Errorf("neither the docker compose plugin (%v) nor a usable docker-compose: %v", orMissing(h.pluginErr), err)
		}
		return ComposeTool{}, err
	}
	return ComposeTool{Version: h.standalone, From: from}, nil
}

func orMissing(err error) error {
	if err == nil {
		return fmt.Errorf("not installed")
	}
	return err
}

// composeOfContainers reads the tool that created the install's containers from their
// com.docker.compose.version label: docker-compose v1 writes "1.29.2", the plugin "2.40.3".
func composeOfContainers(cs []Container) (ComposeTool, bool) {
	for _, c := range cs {
		v := c.Labels[LabelComposeVersion]
		if v == "" {
			continue
		}
		major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
		return ComposeTool{Plugin: major != "1" && major != "0", Version: v, From: "container labels"}, true
	}
	return ComposeTool{}, false
}

// composeTools decides the tool of the old install (from its containers' labels, else its
// release's install.sh rule) and of the new one (the target's install.sh rule); the old must
// also be usable now, since it stops the old install and stops it again in a rollback.
func composeTools(in *Install, old, target *harbor.Release, h composeHost) (oldTool, newTool ComposeTool, err error) {
	need, from := composeNeed(target)
	newTool, err = chooseCompose(need, from, h)
	if err != nil {
		return oldTool, newTool, fmt.Errorf("%s needs %w", targetName(target), err)
	}
	if t, ok := composeOfContainers(in.Containers); ok {
		oldTool = t
		switch {
		case t.Plugin && (h.pluginErr != nil || h.plugin == ""):
			err = fmt.Errorf("Harbor %s was started with docker compose %s (the plugin), which is not usable now (%v): install it again to stop it cleanly", in.Version, t.Version, orMissing(h.pluginErr))
		case !t.Plugin && h.standaloneErr != nil:
			err = fmt.Errorf("Harbor %s was started with docker-compose %s, which is not usable now: %v", in.Version, t.Version, h.standaloneErr)
		}
		return oldTool, newTool, err
	}
	need, from = composeNeed(old)
	oldTool, err = chooseCompose(need, from, h)
	if err != nil {
		err = fmt.Errorf("the installed Harbor %s (to stop it, and for a rollback) needs %w", in.Version, err)
	}
	return oldTool, newTool, err
}

func targetName(r *harbor.Release) string {
	if r == nil {
		return "the new release"
	}
	return "install.sh of " + r.Version
}
