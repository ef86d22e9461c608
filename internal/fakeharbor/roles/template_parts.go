package roles

// Parts shared by the 1.9.0 and 1.10.0 templates of the real migrator
// (cfg/migrator_1_9_0/harbor.yml.jinja, cfg/migrator_1_10_0/harbor.yml.jinja): the same blocks,
// the same lookups, the same order.

// httpsBlock keeps an https block only when the input has one, else writes it commented out
// (`{% if https is defined %}`): a migrated file never gains an enabled https with placeholder
// certificate paths, which 1.10's prepare would refuse.
func httpsBlock(t *tmpl) {
	if t.defined("https") {
		t.line("# https related config")
		t.line("https:")
		t.line("  # https port for harbor, default is 443")
		t.line("  port: %s", t.v("https.port"))
		t.line("  # The path of cert and key files for nginx")
		t.line("  certificate: %s", t.v("https.certificate"))
		t.line("  private_key: %s", t.v("https.private_key"))
		t.line("")
		return
	}
	t.lines(`
# https related config
# https:
#   # https port for harbor, default is 443
#   port: 443
#   # The path of cert and key files for nginx
#   certificate: /your/certificate/path
#   private_key: /your/private/key/path

`)
}

func externalURL(t *tmpl) {
	t.line("# Uncomment external_url if you want to enable external proxy")
	t.line("# And when it enabled the hostname will no longer used")
	if t.defined("external_url") {
		t.line("external_url: %s\n", t.v("external_url"))
		return
	}
	t.line("# external_url: https://reg.mydomain.com:8433\n")
}

// storageService copies storage_service entry by entry in the dict's order: ca_bundle (None
// printed as nothing), redirect (only its `disabled`, which must be there), and every other key
// as a backend whose settings are copied one level deep (None printed as nothing, anything else
// as str(): a nested dict becomes a one-line Python repr).
func storageService(t *tmpl) {
	t.line("# Harbor Storage settings by default is using /data dir on local filesystem")
	t.line("# Uncomment storage_service setting If you want to using external storage")
	if !t.defined("storage_service") {
		t.lines(storageServiceComment)
		return
	}
	t.line("storage_service:")
	keys, vals := t.items("storage_service")
	for i, key := range keys {
		value := vals[i]
		switch {
		case key.kind == pyStr && key.s == "ca_bundle":
			t.line("  ca_bundle: %s", vOrEmpty(value))
		case key.kind == pyStr && key.s == "redirect":
			t.line("  redirect:")
			disabled, ok := value.get("disabled")
			if !ok {
				raise(&UndefinedError{Key: "value.disabled"})
			}
			t.line("    disabled: %s", disabled.str())
		default:
			t.line("  %s:", key.str())
			if value.kind != pyDict {
				raise(&UndefinedError{Key: "value.items"})
			}
			for j, k := range value.keys {
				t.line("    %s: %s", k.str(), vOrEmpty(value.vals[j]))
			}
		}
	}
	t.line("")
}

// externalDatabase copies external_database: every one of the four databases and their six
// keys must be there. 1.9's template writes harbor's pool settings as the constants 2 and 0;
// 1.10's copies them (so a 1.9 file written by hand without them crashes 1.10's).
func externalDatabase(t *tmpl, with1100 bool) {
	t.line("# Uncomment external_database if using external database.")
	if !t.defined("external_database") {
		t.lines(externalDatabaseComment)
		return
	}
	t.line("external_database:")
	for _, db := range []string{"harbor", "clair", "notary_signer", "notary_server"} {
		p := "external_database." + db + "."
		t.line("  %s:", db)
		for _, k := range []string{"host", "port", "db_name", "username", "password", "ssl_mode"} {
			t.line("    %s: %s", k, t.v(p+k))
		}
		if db == "harbor" {
			if with1100 {
				t.line("    max_idle_conns: %s", t.v(p+"max_idle_conns"))
				t.line("    max_open_conns: %s", t.v(p+"max_open_conns"))
			} else {
				t.line("    max_idle_conns: 2")
				t.line("    max_open_conns: 0")
			}
		}
	}
	t.line("")
}

// externalRedis copies external_redis; 1.10 adds clair_db_index, always 4 (even when the input
// sets another).
func externalRedis(t *tmpl, with1100 bool) {
	if !t.defined("external_redis") {
		t.lines(externalRedisComment)
		if with1100 {
			t.line("#   clair_db_index: 4")
		}
		t.line("")
		return
	}
	t.line("external_redis:")
	for _, k := range []string{"host", "port", "password"} {
		t.line("  %s: %s", k, t.v("external_redis."+k))
	}
	t.line("  # db_index 0 is for core, it's unchangeable")
	for _, k := range []string{"registry_db_index", "jobservice_db_index", "chartmuseum_db_index"} {
		t.line("  %s: %s", k, t.v("external_redis."+k))
	}
	if with1100 {
		t.line("  clair_db_index: 4")
	}
	t.line("")
}

const adminPasswordComment = `
# The initial password of Harbor admin
# It only works in first time to install harbor
# Remember Change the admin password from UI after launching Harbor.
`

// dbConns writes the connection pool settings with their comments.
func dbConns(t *tmpl, idle, open string) {
	t.line("  # The maximum number of connections in the idle connection pool. If it <=0, no idle connections are retained.")
	t.line("  max_idle_conns: %s", idle)
	t.line("  # The maximum number of open connections to the database. If it <= 0, then there is no limit on the number of open connections.")
	t.line("  # Note: the default number of connections is 100 for postgres.")
	t.line("  max_open_conns: %s", open)
}

const rotateSizeComment = `
    # Log files are rotated only if they grow bigger than log_rotate_size bytes. If size is followed by k, the size is assumed to be in kilobytes.
    # If the M is used, the size is in megabytes, and if G is used, the size is in gigabytes. So size 100, size 100k, size 100M and size 100G
    # are all valid.
`

const externalEndpointComment = `
  # Uncomment following lines to enable external syslog endpoint.
  # external_endpoint:
  #   # protocol used to transmit log to external endpoint, options is tcp or udp
  #   protocol: tcp
  #   # The host of external endpoint
  #   host: localhost
  #   # Port of external endpoint
  #   port: 5140
`

const storageServiceComment = `
# storage_service:
#   # ca_bundle is the path to the custom root ca certificate, which will be injected into the truststore
#   # of registry's and chart repository's containers.  This is usually needed when the user hosts a internal storage with self signed certificate.
#   ca_bundle:

#   # storage backend, default is filesystem, options include filesystem, azure, gcs, s3, swift and oss
#   # for more info about this configuration please refer https://docs.docker.com/registry/configuration/
#   filesystem:
#     maxthreads: 100
#   # set disable to true when you want to disable registry redirect
#   redirect:
#     disabled: false

`

const externalDatabaseComment = `
# external_database:
#   harbor:
#     host: harbor_db_host
#     port: harbor_db_port
#     db_name: harbor_db_name
#     username: harbor_db_username
#     password: harbor_db_password
#     ssl_mode: disable
#   clair:
#     host: clair_db_host
#     port: clair_db_port
#     db_name: clair_db_name
#     username: clair_db_username
#     password: clair_db_password
#     ssl_mode: disable
#   notary_signer:
#     host: notary_signer_db_host
#     port: notary_signer_db_port
#     db_name: notary_signer_db_name
#     username: notary_signer_db_username
#     password: notary_signer_db_password
#     ssl_mode: disable
#   notary_server:
#     host: notary_server_db_host
#     port: notary_server_db_port
#     db_name: notary_server_db_name
#     username: notary_server_db_username
#     password: notary_server_db_password
#     ssl_mode: disable

`

const externalRedisComment = `
# Uncomment external_redis if using external Redis server
# external_redis:
#   host: redis
#   port: 6379
#   password:
#   # db_index 0 is for core, it's unchangeable
#   registry_db_index: 1
#   jobservice_db_index: 2
#   chartmuseum_db_index: 3
`

const proxyComment = `
# Global proxy
# Config http proxy for components, e.g. http://my.proxy.com:3128
# Components doesn't need to connect to each others via http proxy.
# Remove component from ` + "`components`" + ` array if want disable proxy
# for it. If you want use proxy for replication, MUST enable proxy
# for core and jobservice, and set ` + "`http_proxy` and `https_proxy`" + `.
# Add domain to the ` + "`no_proxy`" + ` field, when you want disable proxy
# for some special registry.
`

// defaultProxy is what both templates write when there is nothing to carry over: every proxy
// empty (no no_proxy list: the real templates write none), components core, jobservice, clair.
const defaultProxy = `
proxy:
  http_proxy:
  https_proxy:
  no_proxy:
  components:
    - core
    - jobservice
    - clair
`
