package roles

// template190 renders a 1.9.0 harbor.yml from a 1.8.0 one as the real
// cfg/migrator_1_9_0/harbor.yml.jinja does: `{% if http %}` (so a missing http crashes it and an
// empty one drops it), optional sections only when present, database gains the constant pool
// settings 50/100, log.rotate_* and log.location move under log.local (all four keys required),
// notification appears, external_database.harbor gains the constants 2/0, and clair's proxy
// settings become the global proxy (components [clair] when one was set, the defaults else).
func template190(t *tmpl) {
	t.lines(`
# Configuration file of Harbor

# The IP address or hostname to access admin UI and registry service.
# DO NOT use localhost or 127.0.0.1, because Harbor needs to be accessed by external clients.
`)
	t.line("hostname: %s", t.v("hostname"))
	t.line("\n# http related config")
	if t.truthy("http") {
		t.line("http:")
		t.line("  # port for http, default is 80. If https enabled, this port will redirect to https port")
		t.line("  port: %s", t.v("http.port"))
	}
	t.line("")
	httpsBlock(t)
	externalURL(t)
	if t.defined("harbor_admin_password") {
		t.lines(adminPasswordComment)
		t.line("harbor_admin_password: %s", t.v("harbor_admin_password"))
		t.line("")
	}
	if t.defined("database") {
		t.line("# Harbor DB configuration")
		t.line("database:")
		t.line("  # The password for the root user of Harbor DB. Change this before any production use.")
		t.line("  password: %s", t.v("database.password"))
		dbConns(t, "50", "100")
		t.line("")
	}
	if t.defined("data_volume") {
		t.line("# The default data volume")
		t.line("data_volume: %s", t.v("data_volume"))
		t.line("")
	}
	storageService(t)
	if t.defined("clair") {
		t.line("# Clair configuration")
		t.line("clair:")
		t.line("  # The interval of clair updaters, the unit is hour, set to 0 to disable the updaters.")
		t.line("  updaters_interval: %s", t.v("clair.updaters_interval"))
		t.line("")
	}
	if t.defined("jobservice") {
		t.line("jobservice:")
		t.line("  # Maximum number of job workers in job service")
		t.line("  max_job_workers: %s", t.v("jobservice.max_job_workers"))
		t.line("")
	}
	t.lines(`
notification:
  # Maximum retry count for webhook job
  webhook_job_max_retry: 10

`)
	if t.defined("chart") {
		t.line("chart:")
		t.line("  # Change the value of absolute_url to enabled can enable absolute url in chart")
		t.line("  absolute_url: %s", absoluteURL(t))
		t.line("")
	}
	t.line("# Log configurations")
	t.line("log:")
	t.line("  # options are debug, info, warning, error, fatal")
	t.line("  level: %s", t.v("log.level"))
	t.line("  # configs for logs in local storage")
	t.line("  local:")
	t.line("    # Log files are rotated log_rotate_count times before being removed. If count is 0, old versions are removed rather than rotated.")
	t.line("    rotate_count: %s", t.v("log.rotate_count"))
	t.lines(rotateSizeComment)
	t.line("    rotate_size: %s", t.v("log.rotate_size"))
	t.line("    # The directory on your host that store log")
	t.line("    location: %s", t.v("log.location"))
	t.line("")
	t.lines(externalEndpointComment)
	t.line("\n#This attribute is for migrator to detect the version of the .cfg file, DO NOT MODIFY!")
	t.line("_version: 1.9.0\n")
	externalDatabase(t, false)
	externalRedis(t, false)
	if t.defined("uaa") {
		t.line("# Uncomment uaa for trusting the certificate of uaa instance that is hosted via self-signed cert.")
		t.line("uaa:")
		t.line("  ca_file: %s", t.v("uaa.ca_file"))
		t.line("")
	}
	t.lines(proxyComment)
	if t.defined("clair") && (t.truthy("clair.http_proxy") || t.truthy("clair.https_proxy")) {
		t.line("proxy:")
		t.line("  http_proxy: %s", t.or("clair.http_proxy", ""))
		t.line("  https_proxy: %s", t.or("clair.https_proxy", ""))
		t.line("  no_proxy: %s", t.or("clair.no_proxy", ""))
		t.line("  components:")
		t.line("    - clair")
		return
	}
	t.lines(defaultProxy)
}

// absoluteURL is `chart.absolute_url if chart.absolute_url == 'enabled' else 'disabled'`: only
// the string enabled survives (raises when chart has no absolute_url).
func absoluteURL(t *tmpl) string {
	if v := t.must("chart.absolute_url"); v.kind == pyStr && v.s == "enabled" {
		return "enabled"
	}
	return "disabled"
}
