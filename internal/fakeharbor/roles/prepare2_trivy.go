package roles

// trivySettings are harbor.yml's `trivy:` keys the adapter's env carries, read as 2.x
// parse_yaml_config reads them (utils/configs.py: `trivy_configs.get("skip_update") or False`).
type trivySettings struct {
	skipUpdate, skipJavaDBUpdate, offlineScan bool
}

func readTrivySettings(h *harborYML) trivySettings {
	return trivySettings{
		skipUpdate:       truthy(mustGet(h, "trivy.skip_update")),
		skipJavaDBUpdate: truthy(mustGet(h, "trivy.skip_java_db_update")),
		offlineScan:      truthy(mustGet(h, "trivy.offline_scan")),
	}
}

// jinjaBool is how jinja2 renders a Python bool.
func jinjaBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// trivyAdapterEnv is common/config/trivy-adapter/env as the line's
// templates/trivy-adapter/env.jinja renders it, as far as the fake adapter reads it: every 2.x
// line has SCANNER_TRIVY_SKIP_UPDATE, 2.4 adds SCANNER_TRIVY_OFFLINE_SCAN and 2.9
// SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE (the same keys as harbor.yml.tmpl, the catalog's trivy_keys).
func trivyAdapterEnv(line int, s settings2, t trivySettings) string {
	kv := []string{
		"SCANNER_LOG_LEVEL", s.logLevel,
		"SCANNER_REDIS_URL", "redis://redis:6379/5?idle_timeout_seconds=30",
		"SCANNER_TRIVY_CACHE_DIR", "/home/scanner/.cache/trivy",
		"SCANNER_TRIVY_REPORTS_DIR", "/home/scanner/.cache/reports",
		"SCANNER_TRIVY_SKIP_UPDATE", jinjaBool(t.skipUpdate),
	}
	if line >= 9 {
		kv = append(kv, "SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE", jinjaBool(t.skipJavaDBUpdate))
	}
	if line >= 4 {
		kv = append(kv, "SCANNER_TRIVY_OFFLINE_SCAN", jinjaBool(t.offlineScan))
	}
	kv = append(kv, "SCANNER_API_SERVER_ADDR", ":8080")
	return envFile(kv...)
}
