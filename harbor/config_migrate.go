package harbor

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// keyRule: when the key `when` is present (or, with a trailing "?", present and not empty), the
// keys in need must be present. An empty `when` means always.
type keyRule struct {
	when string
	need []string
}

func dbKeys(prefix string, extra ...string) []string {
	keys := []string{"host", "port", "db_name", "username", "password", "ssl_mode"}
	out := make([]string, 0, len(keys)+len(extra))
	for _, k := range append(keys, extra...) {
		out = append(out, prefix+"."+k)
	}
	return out
}

// migratorSteps are the harbor-migrator's config steps, keyed by the `_version` each starts from,
// with the keys its Jinja template reads. The templates use StrictUndefined, so every key read
// that the file lacks crashes the migrator ("undefined"), and `{% if http %}` needs http itself.
// Read from tools/migration/cfg/migrator_1_9_0 and migrator_1_10_0 of Harbor 1.10.
var migratorSteps = map[string]struct {
	to    string
	rules []keyRule
}{
	"1.8.0": {to: "1.9.0", rules: []keyRule{
		{"", []string{"hostname", "http", "log.level", "log.rotate_count", "log.rotate_size", "log.location"}},
		{"http?", []string{"http.port"}},
		{"https", []string{"https.port", "https.certificate", "https.private_key"}},
		{"database", []string{"database.password"}},
		{"clair", []string{"clair.updaters_interval", "clair.http_proxy", "clair.https_proxy"}},
		{"clair.http_proxy?", []string{"clair.no_proxy"}},
		{"clair.https_proxy?", []string{"clair.no_proxy"}},
		{"jobservice", []string{"jobservice.max_job_workers"}},
		{"external_database", append(append(append(dbKeys("external_database.harbor"), dbKeys("external_database.clair")...),
			dbKeys("external_database.notary_signer")...), dbKeys("external_database.notary_server")...)},
		{"external_redis", []string{"external_redis.host", "external_redis.port", "external_redis.password",
			"external_redis.registry_db_index", "external_redis.jobservice_db_index", "external_redis.chartmuseum_db_index"}},
		{"uaa", []string{"uaa.ca_file"}},
	}},
	"1.9.0": {to: "1.10.0", rules: []keyRule{
		{"", []string{"hostname", "http"}},
		{"http?", []string{"http.port"}},
		{"https", []string{"https.port", "https.certificate", "https.private_key"}},
		{"database", []string{"database.password", "database.max_idle_conns", "database.max_open_conns"}},
		{"clair", []string{"clair.updaters_interval"}},
		{"jobservice", []string{"jobservice.max_job_workers"}},
		{"notification", []string{"notification.webhook_job_max_retry"}},
		{"chart", []string{"chart.absolute_url"}},
		{"log", []string{"log.level", "log.local.rotate_count", "log.local.rotate_size", "log.local.location"}},
		{"log.external_endpoint", []string{"log.external_endpoint.protocol", "log.external_endpoint.host", "log.external_endpoint.port"}},
		{"storage_service.redirect", []string{"storage_service.redirect.disabled"}},
		{"external_database", append(append(append(dbKeys("external_database.harbor", "max_idle_conns", "max_open_conns"),
			dbKeys("external_database.clair")...), dbKeys("external_database.notary_signer")...), dbKeys("external_database.notary_server")...)},
		{"external_redis", []string{"external_redis.host", "external_redis.port", "external_redis.password",
			"external_redis.registry_db_index", "external_redis.jobservice_db_index", "external_redis.chartmuseum_db_index"}},
		{"uaa", []string{"uaa.ca_file"}},
		{"proxy", []string{"proxy.http_proxy", "proxy.https_proxy", "proxy.no_proxy"}},
	}},
}

// chainRules are what a later step needs that the earlier step's output does not supply: the
// 1.9.0 template writes http only when it is set, and copies external_database.harbor without
// the max_*_conns keys the 1.10.0 template then reads.
var chainRules = map[string][]keyRule{
	"1.8.0->1.10.0": {
		{"", []string{"http?"}},
		{"external_database", []string{"external_database.harbor.max_idle_conns", "external_database.harbor.max_open_conns"}},
	},
}

// CheckForMigrator checks that harbor.yml has what the migration to the config schema target
// ("1.10.0", a release's ConfigVersion) needs, before anything is stopped: the 1.x migrator
// crashes on a missing key, 2.x prepare refuses files older than 1.9.0. nil when nothing is
// missing or nothing needs migrating; *MigrationInputError otherwise.
func (c *Config) CheckForMigrator(target string) error {
	from := c.ConfigVersion()
	e := &MigrationInputError{From: from, To: strings.TrimPrefix(target, "v")}
	fv, err := ParseVersion(from)
	if err != nil {
		e.Reason = "it has no readable _version line (Harbor 1.8 and later write one; 1.7 and older use harbor.cfg)"
		return e
	}
	tv, err := ParseVersion(target)
	if err != nil {
		e.Reason = err.Error()
		return e
	}
	switch {
	case fv == tv:
		return nil
	case fv.Compare(tv) > 0:
		e.Reason = "it is newer than the target; Harbor does not migrate configurations back"
		return e
	case tv.Major >= 2:
		if fv.Compare(Version{1, 9, 0}) < 0 {
			e.Reason = "Harbor 2.x's prepare migrate refuses _version older than 1.9.0; upgrade to v1.10.x first"
			return e
		}
		e.Missing = c.missing([]keyRule{{"", []string{"hostname"}}})
		return e.orNil()
	}
	step, ok := migratorSteps[fv.String()[1:]]
	if !ok {
		e.Reason = "no harbor-migrator step starts from this _version"
		return e
	}
	e.Missing = c.missing(step.rules)
	if step.to != e.To {
		e.Missing = appendNew(e.Missing, c.missing(chainRules[fv.String()[1:]+"->"+e.To])...)
	}
	return e.orNil()
}

func (c *Config) missing(rules []keyRule) []string {
	var out []string
	for _, r := range rules {
		if r.when != "" && !c.present(r.when) {
			continue
		}
		for _, k := range r.need {
			if !c.present(k) {
				out = appendNew(out, strings.TrimSuffix(k, "?"))
			}
		}
	}
	return out
}

// present: "a.b" exists; "a.b?" exists and is not null, empty or an empty mapping.
func (c *Config) present(key string) bool {
	k, nonEmpty := strings.CutSuffix(key, "?")
	n := c.lookup(strings.Split(k, "."))
	if n == nil {
		return false
	}
	if !nonEmpty {
		return true
	}
	return len(n.Content) > 0 || (n.Kind == yaml.ScalarNode && n.Value != "" && n.ShortTag() != "!!null")
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			found = found || l == it
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

// MigrationInputError is a harbor.yml the migration to the target schema cannot take.
type MigrationInputError struct {
	From, To string   // _version of the file, target _version
	Missing  []string // keys the migrator reads that the file lacks
	Reason   string   // set when the problem is not missing keys
}

func (e *MigrationInputError) orNil() error {
	if len(e.Missing) == 0 && e.Reason == "" {
		return nil
	}
	return e
}

func (e *MigrationInputError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("harbor.yml (_version %q) cannot be migrated to %s: %s", e.From, e.To, e.Reason)
	}
	return fmt.Sprintf("harbor.yml (_version %s) lacks keys the migration to %s reads: %s; add them as in Harbor's default harbor.yml of that version",
		e.From, e.To, strings.Join(e.Missing, ", "))
}

// ExitCode makes cmd/bundle exit 2: refused before any change.
func (e *MigrationInputError) ExitCode() int { return 2 }
