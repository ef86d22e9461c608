package roles

import "fmt"

// settings2 is what 2.x's parse_yaml_config (utils/configs.py) takes from harbor.yml, as far as
// the fake uses it. The 1.x settings are embedded: the config files are written from them.
type settings2 struct {
	settings
	logExternal   bool // log.external_endpoint set
	logEPProtocol string
	logEPHost     string
	logEPPort     string
	metric        bool // metric.enabled
	externalDB    bool // external_database set (no postgresql service)
	externalRedis bool // external_redis set (no redis service)
	internalTLS   bool // internal_tls.enabled
}

// readSettings2 reads harbor.yml as parse_yaml_config does: configs["key"] (a KeyError when
// missing) where the real code indexes, .get with its default where it uses .get.
func readSettings2(h *harborYML) (settings2, error) {
	var s settings2
	var err error
	if s.hostname, err = h.str("hostname"); err != nil {
		return s, err
	}
	s.httpPort = "80"
	if h.has("http") && h.has("http.port") {
		s.httpPort, _ = h.str("http.port")
	}
	if h.has("https") {
		if m, ok := mustGet(h, "https").(map[string]any); ok && len(m) > 0 {
			s.https = true
			if s.certificate, err = h.str("https.certificate"); err != nil {
				return s, err
			}
			if s.privateKey, err = h.str("https.private_key"); err != nil {
				return s, err
			}
			s.httpsPort = httpsPortOf(h)
		}
	}
	if h.has("database") {
		s.dbPassword, _ = h.str("database.password")
	}
	if s.dataVolume, err = h.str("data_volume"); err != nil {
		return s, err
	}
	if s.adminPassword, err = h.str("harbor_admin_password"); err != nil {
		return s, err
	}
	if h.has("storage_service.ca_bundle") {
		s.caBundle, _ = h.str("storage_service.ca_bundle")
	}
	if s.logLevel, err = h.str("log.level"); err != nil {
		return s, err
	}
	switch s.logLevel {
	case "debug", "info", "warning", "error", "fatal":
	default:
		return s, fmt.Errorf("Exception: log level must be one of debug, info, warning, error, fatal")
	}
	s.logLocation = "/var/log/harbor"
	if h.has("log.local.location") {
		s.logLocation, _ = h.str("log.local.location")
	}
	if h.has("log.external_endpoint") {
		s.logExternal = true
		for _, f := range []struct {
			dst *string
			key string
		}{{&s.logEPProtocol, "protocol"}, {&s.logEPHost, "host"}, {&s.logEPPort, "port"}} {
			if *f.dst, err = h.str("log.external_endpoint." + f.key); err != nil {
				return s, err
			}
		}
	}
	s.metric = truthy(mustGet(h, "metric.enabled"))
	if m, ok := mustGet(h, "external_database").(map[string]any); ok && len(m) > 0 {
		s.externalDB = true
	}
	if m, ok := mustGet(h, "external_redis").(map[string]any); ok && len(m) > 0 {
		s.externalRedis = true
	}
	s.internalTLS = truthy(mustGet(h, "internal_tls.enabled"))
	if h.has("uaa.ca_file") {
		s.uaaCAFile, _ = h.str("uaa.ca_file")
	}
	return s, nil
}

// mustGet is the value at path, nil when any part is missing.
func mustGet(h *harborYML, path string) any {
	v, _ := h.get(path)
	return v
}

// truthy is python's bool() of a YAML value.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int:
		return v != 0
	case string:
		return v != ""
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return true
}

// validate2 is 2.x's validate() (utils/configs.py): what it refuses, in its order, with its
// messages; the caller prints "Error happened in config validation..." and exits 255.
func validate2(env *Env, s settings2, l prepareLine, flags map[string]bool) error {
	if s.hostname == "127.0.0.1" {
		return &validationError{"127.0.0.1 can not be the hostname"}
	}
	if s.hostname == "reg.mydomain.com" {
		return &validationError{"Please specify hostname"}
	}
	// Every line with notary refuses it without https (kwargs notary_mode).
	if l.has("notary") && flags["notary"] && !s.https {
		return &validationError{"Error: the protocol must be https when Harbor is deployed with Notary"}
	}
	if s.https {
		if err := validateHTTPSCert(s.settings); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(env.Stderr, "WARNING:root:WARNING: HTTP protocol is insecure. Harbor will deprecate http protocol in the future. Please make sure to upgrade to https")
	}
	if s.logExternal {
		if s.logEPHost == "" {
			return &validationError{"Error: must set log endpoint host to enable external host"}
		}
		if s.logEPPort == "" {
			return &validationError{"Error: must set log endpoint port to enable external host"}
		}
		if s.logEPProtocol != "udp" && s.logEPProtocol != "tcp" {
			return &validationError{"Protocol in external log endpoint must be one of 'udp' or 'tcp' "}
		}
	}
	if s.caBundle != "" {
		return validateCABundle(env, s.caBundle)
	}
	return nil
}
