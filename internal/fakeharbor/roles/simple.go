package roles

import (
	"net/http"
	"os"
)

// simple is a role bundle never talks to (portal, jobservice, redis, log, notary, clair,
// chartmuseum, ...): it listens on its real port and answers health. Given a data directory it
// writes a marker there first, so a missing mount or a wrong owner makes it unhealthy, as a
// real redis or chartmuseum that cannot write would be.
func simple(name, dataDir string, port int) role {
	return role{port: port, run: func(env *Env, _ []string) int {
		var writeErr error
		if dataDir != "" {
			dir := env.Path(dataDir)
			if name == "redis" || name == "valkey" { // redis-photon is started as root in 1.8 and drops to redis(999)
				if _, err := runAsOwner(env, name, dir, uidPostgres, 0o755); err != nil {
					env.logf(name, "%v", err)
					return exitFail
				}
			}
			if _, err := os.Stat(dir); err != nil {
				writeErr = err
			} else {
				writeErr = probeWrite(dir)
			}
			if writeErr != nil {
				env.logf(name, "%v", writeErr)
			}
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
			if writeErr != nil {
				http.Error(w, writeErr.Error(), http.StatusInternalServerError)
				return
			}
			w.Write([]byte("ok"))
		})
		if name == "clair" && env.Getenv("FAKEHARBOR_LISTEN") == "" {
			go serve(env, name, ":6060", mux) // clair's API; its health port is 6061
		}
		return serve(env, name, env.listenAddr(port), mux)
	}}
}
