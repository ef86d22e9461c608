package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strconv"
	"time"
)

// The fake trivy-adapter-photon: Harbor's image of aquasecurity/harbor-scanner-trivy. What it
// imitates, and from where:
//   - its configuration: the env file prepare writes from harbor.yml
//     (../shared/harbor-real/prepare/<tag>/templates/trivy-adapter/env.jinja: SCANNER_TRIVY_CACHE_DIR,
//     SCANNER_TRIVY_SKIP_UPDATE, SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE, SCANNER_TRIVY_OFFLINE_SCAN,
//     rendered by Python, so "True"/"False"), read as harbor-scanner-trivy's pkg/etc/config.go
//     reads it (caarlos0/env: strconv.ParseBool);
//   - its HTTP API: harbor-scanner-trivy pkg/http/api/v1/handler.go: GET /probe/healthy,
//     GET /probe/ready and GET /api/v1/metadata, whose properties carry the DB's
//     "harbor.scanner-adapter/vulnerability-database-updated-at" (RFC 3339, seconds) when
//     `trivy --version --cache-dir DIR` reports a DB, i.e. when DIR/db/metadata.json reads, and
//     "...-next-update-at" only when skip_update is false (pkg/trivy/wrapper.go GetVersion);
//   - its cache: data_volume/trivy-adapter/trivy mounted at /home/scanner/.cache/trivy, the DB
//     in db/trivy.db + db/metadata.json, the Java DB in java-db/trivy-java.db + metadata.json.
//
// One deliberate difference: the real /probe/ready always answers 200, and an adapter with
// skip_update true and no DB fails every scan instead (Trivy: "--skip-db-update cannot be
// specified on the first run"). The fake answers /probe/ready 503 in that state, so a test sees
// "this adapter cannot scan" without running a scan. bundle itself never relies on it: it
// reads the metadata's updated-at, which the real adapter reports as the fake does.

const trivyCacheDefault = "/home/scanner/.cache/trivy"

// trivyConfig is what the adapter reads from its env.
type trivyConfig struct {
	cacheDir                     string
	skipUpdate, skipJavaDBUpdate bool
	offlineScan                  bool
}

func readTrivyConfig(env *Env) (trivyConfig, error) {
	c := trivyConfig{cacheDir: env.Getenv("SCANNER_TRIVY_CACHE_DIR")}
	if c.cacheDir == "" {
		c.cacheDir = trivyCacheDefault
	}
	for _, f := range []struct {
		dst *bool
		key string
	}{{&c.skipUpdate, "SCANNER_TRIVY_SKIP_UPDATE"}, {&c.skipJavaDBUpdate, "SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE"}, {&c.offlineScan, "SCANNER_TRIVY_OFFLINE_SCAN"}} {
		v := env.Getenv(f.key)
		if v == "" {
			continue // envDefault:"false"
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("parsing env variable %s=%q: %w", f.key, v, err)
		}
		*f.dst = b
	}
	return c, nil
}

// trivyDBMeta is Trivy's metadata.json.
type trivyDBMeta struct {
	Version      int       `json:"Version"`
	NextUpdate   time.Time `json:"NextUpdate"`
	UpdatedAt    time.Time `json:"UpdatedAt"`
	DownloadedAt time.Time `json:"DownloadedAt"`
}

// readTrivyDB reads dir/metadata.json, as `trivy --version` does; with dbFile != "" the DB file
// must be there too (what a scan opens).
func readTrivyDB(dir, dbFile string) (*trivyDBMeta, error) {
	b, err := os.ReadFile(path.Join(dir, "metadata.json"))
	if err != nil {
		return nil, err
	}
	var m trivyDBMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s/metadata.json: %w", dir, err)
	}
	if dbFile != "" {
		f, err := os.Open(path.Join(dir, dbFile))
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	return &m, nil
}

// runTrivyAdapter is trivy-adapter-photon: it answers the adapter's probes and metadata on 8080.
// When it cannot write one of its directories (missing mount, wrong owner) it is unhealthy, as
// a real adapter that cannot store its vulnerability database would be useless.
func runTrivyAdapter(env *Env, _ []string) int {
	cfg, err := readTrivyConfig(env)
	if err != nil {
		env.logf("trivy-adapter", "%v", err) // the real one exits on a bad env
		return exitFail
	}
	var errs []error
	for _, dir := range trivyDirs {
		if err := probeWrite(env.Path(dir)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dir, err))
		}
	}
	writeErr := errors.Join(errs...)
	if writeErr != nil {
		env.logf("trivy-adapter", "%v", writeErr)
	}
	cache := env.Path(cfg.cacheDir)
	env.logf("trivy-adapter", "cache %s, skip_update %v, skip_java_db_update %v, offline_scan %v", cfg.cacheDir, cfg.skipUpdate, cfg.skipJavaDBUpdate, cfg.offlineScan)
	healthy := func(w http.ResponseWriter, _ *http.Request) {
		if writeErr != nil {
			http.Error(w, writeErr.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /probe/healthy", healthy)
	mux.HandleFunc("GET /probe/ready", func(w http.ResponseWriter, r *http.Request) {
		if writeErr == nil && cfg.skipUpdate {
			if _, err := readTrivyDB(path.Join(cache, "db"), "trivy.db"); err != nil {
				// Read on every request: a DB put in place while the adapter runs is found.
				http.Error(w, "skip_update is set and there is no vulnerability DB: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		healthy(w, r)
	})
	mux.HandleFunc("GET /api/v1/metadata", func(w http.ResponseWriter, _ *http.Request) {
		props := map[string]string{
			"harbor.scanner-adapter/scanner-type":   "os-package-vulnerability",
			"org.label-schema.version":              "fake-" + env.Version(),
			"env.SCANNER_TRIVY_SKIP_UPDATE":         strconv.FormatBool(cfg.skipUpdate),
			"env.SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE": strconv.FormatBool(cfg.skipJavaDBUpdate),
			"env.SCANNER_TRIVY_OFFLINE_SCAN":        strconv.FormatBool(cfg.offlineScan),
		}
		if m, err := readTrivyDB(path.Join(cache, "db"), ""); err == nil {
			props["harbor.scanner-adapter/vulnerability-database-updated-at"] = m.UpdatedAt.Format(time.RFC3339)
			if !cfg.skipUpdate {
				props["harbor.scanner-adapter/vulnerability-database-next-update-at"] = m.NextUpdate.Format(time.RFC3339)
			}
		} else {
			env.logf("trivy-adapter", "Error while retrieving vulnerability DB version: %v", err)
		}
		if m, err := readTrivyDB(path.Join(cache, "java-db"), ""); err == nil && !cfg.skipJavaDBUpdate {
			props["harbor.scanner-adapter/vulnerability-java-database-next-update-at"] = m.NextUpdate.Format(time.RFC3339)
		}
		w.Header().Set("Content-Type", "application/vnd.scanner.adapter.metadata+json; version=1.1")
		json.NewEncoder(w).Encode(map[string]any{
			"scanner": map[string]string{"name": "Trivy", "vendor": "Aqua Security", "version": "fake-" + env.Version()},
			"capabilities": []map[string]any{{
				"consumes_mime_types": []string{"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"},
				"produces_mime_types": []string{"application/vnd.security.vulnerability.report; version=1.1"},
			}},
			"properties": props,
		})
	})
	return serve(env, "trivy-adapter", env.listenAddr(8080), mux)
}
