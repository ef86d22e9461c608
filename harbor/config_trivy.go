package harbor

import (
	"fmt"
	"strings"
)

// Trivy's keys in harbor.yml (section `trivy:`), as the 2.x prepare reads them
// (utils/configs.py: trivy_configs.get(...) or False) and writes them into the adapter's env
// (templates/trivy-adapter/env.jinja: SCANNER_TRIVY_SKIP_UPDATE, SCANNER_TRIVY_OFFLINE_SCAN,
// SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE). Which of them a release reads is catalog data
// (Release.TrivyKeys).
const (
	TrivySkipUpdate       = "skip_update"
	TrivyOfflineScan      = "offline_scan"
	TrivySkipJavaDBUpdate = "skip_java_db_update"
)

// TrivyFlag reports whether harbor.yml sets trivy.<key> to a true value. A missing key is false,
// as prepare's `.get(key) or False` reads it.
func (c *Config) TrivyFlag(key string) bool {
	v, ok := c.Get("trivy", key)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on": // YAML 1.1 booleans, as PyYAML reads them
		return true
	}
	return false
}

// SetTrivyFlags sets trivy.<key>: true for each key not already true, keeping every comment and
// the rest of the file as it was, and returns the keys it changed. This is what an air-gapped
// Harbor with a vulnerability DB installed by hand needs (harbor.yml.tmpl's own advice:
// "You need to specify skip-update as well as offline-scan in an air-gapped environment").
func (c *Config) SetTrivyFlags(keys ...string) (changed []string, err error) {
	for _, k := range keys {
		if c.TrivyFlag(k) {
			continue
		}
		if err := c.Set("true", "trivy", k); err != nil {
			return changed, fmt.Errorf("harbor.yml trivy.%s: %w", k, err)
		}
		changed = append(changed, k)
	}
	return changed, nil
}
