package roles

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// harborYML is what prepare reads from harbor.yml, looked up the way prepare's python does:
// a missing key it needs is a KeyError, not a default.
type harborYML struct {
	m map[string]any
}

// KeyError is a key prepare needs that harbor.yml lacks (python's KeyError in the real one);
// typically a file of an older `_version` given to a newer prepare without migrating it.
type KeyError struct{ Key string }

func (e *KeyError) Error() string { return fmt.Sprintf("KeyError: '%s'", e.Key) }

func parseHarborYML(data []byte) (*harborYML, error) {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing harbor.yml: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("parsing harbor.yml: the file is empty")
	}
	return &harborYML{m: m}, nil
}

// get returns the value at a dotted path, or *KeyError.
func (h *harborYML) get(path string) (any, error) {
	var cur any = h.m
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, &KeyError{Key: k}
		}
		if cur, ok = m[k]; !ok {
			return nil, &KeyError{Key: k}
		}
	}
	return cur, nil
}

func (h *harborYML) has(path string) bool {
	v, err := h.get(path)
	return err == nil && v != nil
}

// str returns the value at path printed as YAML would print a scalar ("" for null).
func (h *harborYML) str(path string) (string, error) {
	v, err := h.get(path)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	default:
		return fmt.Sprint(v), nil
	}
}

// settings is what prepare takes from harbor.yml for one release.
type settings struct {
	hostname      string
	httpPort      string
	https         bool
	httpsPort     string // https.port, "443" when the block omits it (parse_yaml_config's default)
	certificate   string
	privateKey    string
	adminPassword string
	dbPassword    string
	dataVolume    string
	logLocation   string
	logLevel      string
	caBundle      string // storage_service.ca_bundle ("" when absent or null)
	uaaCAFile     string // uaa.ca_file
}

// readSettings collects the settings, with the keys of the release's `_version`: 1.8 keeps
// log.location, 1.9+ has log.local.location.
func readSettings(h *harborYML, configVersion string) (settings, error) {
	var s settings
	logKey := "log.local.location"
	if configVersion == "1.8.0" {
		logKey = "log.location"
	}
	fields := []struct {
		dst *string
		key string
	}{
		{&s.hostname, "hostname"}, {&s.adminPassword, "harbor_admin_password"},
		{&s.dbPassword, "database.password"}, {&s.dataVolume, "data_volume"},
		{&s.logLocation, logKey}, {&s.logLevel, "log.level"},
	}
	for _, f := range fields {
		v, err := h.str(f.key)
		if err != nil {
			return s, err
		}
		*f.dst = v
	}
	if h.has("http") {
		var err error
		if s.httpPort, err = h.str("http.port"); err != nil {
			return s, err
		}
	}
	if h.has("storage_service.ca_bundle") {
		s.caBundle, _ = h.str("storage_service.ca_bundle")
	}
	if h.has("uaa.ca_file") {
		s.uaaCAFile, _ = h.str("uaa.ca_file")
	}
	if h.has("https") {
		s.https = true
		for _, f := range []struct {
			dst *string
			key string
		}{{&s.certificate, "https.certificate"}, {&s.privateKey, "https.private_key"}} {
			v, err := h.str(f.key)
			if err != nil {
				return s, err
			}
			*f.dst = v
		}
		s.httpsPort = httpsPortOf(h)
	}
	return s, nil
}
