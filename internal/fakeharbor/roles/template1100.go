package roles

// template1100 renders a 1.10.0 harbor.yml from a 1.9.0 one as the real
// cfg/migrator_1_10_0/harbor.yml.jinja does. Unlike 1.9's it falls back to defaults when a whole
// section is missing, but a present section must have every key it reads (`database` needs
// max_idle_conns and max_open_conns, `log` needs local.*); http is kept when defined (even
// empty: then `http.port` crashes it); https only when the input has one; proxy is carried over
// as it is (its components only when present); external_redis gains clair_db_index: 4.
func template1100(t *tmpl) {
	t.lines(`
# Configuration file of Harbor

# The IP address or hostname to access admin UI and registry service.
# DO NOT use localhost or 127.0.0.1, because Harbor needs to be accessed by external clients.
`)
	t.line("hostname: %s", t.v("hostname"))
	t.line("\n# http related config")
	if t.defined("http") {
		t.line("http:")
		t.line("  # port for http, default is 80. If https enabled, this port will redirect to https port")
		t.line("  port: %s", t.v("http.port"))
	} else {
		t.line("# http:")
		t.line("#   # port for http, default is 80. If https enabled, this port will redirect to https port")
		t.line("#   port: 80")
	}
	t.line("")
	httpsBlock(t)
	externalURL(t)
	t.lines(adminPasswordComment)
	t.line("harbor_admin_password: %s", orDefault(t, "harbor_admin_password", "Harbor12345"))
	t.line("\n# Harbor DB configuration")
	t.line("database:")
	t.line("  # The password for the root user of Harbor DB. Change this before any production use.")
	if t.defined("database") {
		t.line("  password: %s", t.v("database.password"))
		dbConns(t, t.or("database.max_idle_conns", "50"), t.or("database.max_open_conns", "100"))
	} else {
		t.line("  password: root123")
		dbConns(t, "50", "100")
	}
	t.line("\n# The default data volume")
	t.line("data_volume: %s\n", orDefault(t, "data_volume", "/data"))
	storageService(t)
	t.line("# Clair configuration")
	t.line("clair:")
	t.line("  # The interval of clair updaters, the unit is hour, set to 0 to disable the updaters.")
	t.line("  updaters_interval: %s\n", sub(t, "clair", "updaters_interval", "12"))
	t.line("jobservice:")
	t.line("  # Maximum number of job workers in job service")
	t.line("  max_job_workers: %s\n", sub(t, "jobservice", "max_job_workers", "10"))
	t.line("notification:")
	t.line("  # Maximum retry count for webhook job")
	t.line("  webhook_job_max_retry: %s\n", sub(t, "notification", "webhook_job_max_retry", "10"))
	t.line("chart:")
	t.line("  # Change the value of absolute_url to enabled can enable absolute url in chart")
	absolute := "disabled"
	if t.defined("chart") {
		absolute = absoluteURL(t)
	}
	t.line("  absolute_url: %s\n", absolute)
	logBlock1100(t)
	t.line("\n#This attribute is for migrator to detect the version of the .cfg file, DO NOT MODIFY!")
	t.line("_version: 1.10.0")
	externalDatabase(t, true)
	externalRedis(t, true)
	t.line("# Uncomment uaa for trusting the certificate of uaa instance that is hosted via self-signed cert.")
	if t.defined("uaa") {
		t.line("uaa:")
		t.line("  ca_file: %s\n", t.v("uaa.ca_file"))
	} else {
		t.line("# uaa:")
		t.line("#   ca_file: /path/to/ca\n")
	}
	t.lines(proxyComment)
	if !t.defined("proxy") {
		t.lines(defaultProxy)
		return
	}
	t.line("proxy:")
	t.line("  http_proxy: %s", t.or("proxy.http_proxy", ""))
	t.line("  https_proxy: %s", t.or("proxy.https_proxy", ""))
	t.line("  no_proxy: %s", t.or("proxy.no_proxy", ""))
	if t.defined("proxy.components") {
		t.line("  components:")
		for _, c := range t.iterate("proxy.components") {
			t.line("    - %s", c)
		}
	}
}

// orDefault is `{% if key is defined %}{{ key }}{% else %}def{% endif %}`.
func orDefault(t *tmpl, key, def string) string {
	if t.defined(key) {
		return t.v(key)
	}
	return def
}

// sub is a section that falls back to its default when the whole section is missing but needs
// its key when the section is there.
func sub(t *tmpl, section, key, def string) string {
	if t.defined(section) {
		return t.v(section + "." + key)
	}
	return def
}

func logBlock1100(t *tmpl) {
	t.line("# Log configurations")
	t.line("log:")
	t.line("  # options are debug, info, warning, error, fatal")
	if !t.defined("log") {
		t.lines(defaultLog1100)
		return
	}
	t.line("  level: %s", t.v("log.level"))
	t.line("  # configs for logs in local storage")
	t.line("  local:")
	t.line("    # Log files are rotated log_rotate_count times before being removed. If count is 0, old versions are removed rather than rotated.")
	t.line("    rotate_count: %s", t.v("log.local.rotate_count"))
	t.lines(rotateSizeComment)
	t.line("    rotate_size: %s", t.v("log.local.rotate_size"))
	t.line("    # The directory on your host that store log")
	t.line("    location: %s", t.v("log.local.location"))
	if t.defined("log.external_endpoint") {
		t.line("  external_endpoint:")
		t.line("    # protocol used to transmit log to external endpoint, options is tcp or udp")
		t.line("    protocol: %s", t.v("log.external_endpoint.protocol"))
		t.line("    # The host of external endpoint")
		t.line("    host: %s", t.v("log.external_endpoint.host"))
		t.line("    # Port of external endpoint")
		t.line("    port: %s", t.v("log.external_endpoint.port"))
		return
	}
	t.line("    # Uncomment following lines to enable external syslog endpoint.")
	t.line("    # external_endpoint:")
	t.line("    #   # protocol used to transmit log to external endpoint, options is tcp or udp")
	t.line("    #   protocol: tcp")
	t.line("    #   # The host of external endpoint")
	t.line("    #   host: localhost")
	t.line("    #   # Port of external endpoint")
	t.line("    #   port: 5140")
}

const defaultLog1100 = `
  level: info
  # configs for logs in local storage
  local:
    # Log files are rotated log_rotate_count times before being removed. If count is 0, old versions are removed rather than rotated.
    rotate_count: 50
    # Log files are rotated only if they grow bigger than log_rotate_size bytes. If size is followed by k, the size is assumed to be in kilobytes.
    # If the M is used, the size is in megabytes, and if G is used, the size is in gigabytes. So size 100, size 100k, size 100M and size 100G
    # are all valid.
    rotate_size: 200M
    # The directory on your host that store log
    location: /var/log/harbor

  # Uncomment following lines to enable external syslog endpoint.
  # external_endpoint:
  #   # protocol used to transmit log to external endpoint, options is tcp or udp
  #   protocol: tcp
  #   # The host of external endpoint
  #   host: localhost
  #   # Port of external endpoint
  #   port: 5140
`
