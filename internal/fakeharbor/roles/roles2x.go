package roles

import (
	"errors"
	"fmt"
	"net/http"
)

// Roles that came with Harbor 2.x: trivy-adapter-photon (2.0+, --with-trivy), harbor-exporter
// (2.2+) and valkey-photon (2.15's redis: compose service and container "redis").

// trivyDirs are the adapter's cache and reports directories (SCANNER_TRIVY_CACHE_DIR and
// SCANNER_TRIVY_REPORTS_DIR of its env file), mounted from data_volume/trivy-adapter/{trivy,reports}.
var trivyDirs = []string{"/home/scanner/.cache/trivy", "/home/scanner/.cache/reports"}

// runTrivyAdapter is trivy-adapter-photon: it answers the adapter's probes on 8080; when it
// cannot write one of its directories (missing mount, wrong owner) it is unhealthy, as a real
// adapter that cannot store its vulnerability database would be useless.
func runTrivyAdapter(env *Env, _ []string) int {
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
	probe := func(w http.ResponseWriter, _ *http.Request) {
		if writeErr != nil {
			http.Error(w, writeErr.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /probe/healthy", probe)
	mux.HandleFunc("GET /probe/ready", probe)
	return serve(env, "trivy-adapter", env.listenAddr(8080), mux)
}

// runExporter is harbor-exporter: Prometheus metrics on 8080 (HARBOR_EXPORTER_PORT,
// HARBOR_EXPORTER_METRICS_PATH of its env file).
func runExporter(env *Env, _ []string) int {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP harbor_exporter_up The fake exporter answers.\n# TYPE harbor_exporter_up gauge\nharbor_exporter_up{version=%q} 1\n", env.Version())
	})
	return serve(env, "exporter", env.listenAddr(8080), mux)
}

// valkeyData is valkey's data directory: 2.15.2's compose template mounts
// {{data_volume}}/redis:/var/lib/redis for the redis service running valkey-photon.
const valkeyData = "/var/lib/redis"
