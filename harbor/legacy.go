package harbor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadLegacyCfg reads a Harbor 1.7-or-older harbor.cfg (key = value lines, # comments). It is
// enough to recognise such an install and refuse it with the right advice, not to migrate it.
func ReadLegacyCfg(path string) (map[string]string, error) {
	b, err := readLimited(path, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("reading harbor.cfg: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading harbor.cfg %s: no key = value settings in it", path)
	}
	return out, nil
}

// LegacyConfigError is an install dir configured by harbor.cfg (Harbor 1.7 or older), which no
// release in the catalog upgrades from directly.
type LegacyConfigError struct {
	Dir     string
	Version string // from harbor.cfg's _version when it has one, else ""
}

func (e *LegacyConfigError) Error() string {
	v := "1.7 or older"
	if e.Version != "" {
		v = e.Version
	}
	return fmt.Sprintf("%s holds harbor.cfg, not harbor.yml: this is Harbor %s, which must be upgraded to v1.8.x first (see %s)",
		e.Dir, v, UpgradeGuideURL)
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *LegacyConfigError) ExitCode() int { return 2 }

// ReadInstallConfig reads the harbor.yml of a Harbor install dir. A dir with only a harbor.cfg
// gives *LegacyConfigError; one with neither, an error wrapping os.ErrNotExist.
func ReadInstallConfig(dir string) (*Config, error) {
	c, err := ReadConfig(filepath.Join(dir, "harbor.yml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	cfg := filepath.Join(dir, "harbor.cfg")
	if legacy, lerr := ReadLegacyCfg(cfg); lerr == nil {
		return nil, &LegacyConfigError{Dir: dir, Version: legacy["_version"]}
	} else if !errors.Is(lerr, os.ErrNotExist) {
		return nil, &LegacyConfigError{Dir: dir}
	}
	return nil, fmt.Errorf("reading Harbor config in %s: neither harbor.yml nor harbor.cfg: %w", dir, os.ErrNotExist)
}
