package roles

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// healthPath is the endpoint each server role's health check asks, under core's API prefix of the
// image's generation when it starts with "API"; "" means /health.
var healthPath = map[string]string{
	"core":          "API/health",
	"proxy":         "API/ping", // through the proxy to core: healthy when core answers
	"trivy-adapter": "/probe/healthy",
	"exporter":      "/metrics",
}

// runHealth is `harbord health ROLE`, the images' HEALTHCHECK: exit 0 when the role answers
// healthy on 127.0.0.1, else 1.
func runHealth(env *Env, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(env.Stderr, "usage: harbord health ROLE")
		return exitUsage
	}
	r, ok := roles[args[0]]
	if !ok || r.port == 0 {
		fmt.Fprintf(env.Stderr, "harbord: role %q has no health check\n", args[0])
		return exitUsage
	}
	if err := checkHealth(env, args[0], r.port); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	fmt.Fprintln(env.Stdout, "healthy")
	return exitOK
}

func checkHealth(env *Env, name string, port int) error {
	addr := env.listenAddr(port)
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	path := healthPath[name]
	if path == "" {
		path = "/health"
	}
	if rest, ok := strings.CutPrefix(path, "API"); ok {
		path = generationOf(env.Version()).api + rest
	}
	// No redirect is followed, as curl without -L: a proxy with https on answers 8080 with one.
	client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return fmt.Errorf("%s unhealthy: %w", name, err)
	}
	defer resp.Body.Close()
	if name == "proxy" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return proxyHTTPSHealth(env, path)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s unhealthy: %s", name, resp.Status)
	}
	if name != "core" {
		return nil
	}
	var h struct {
		Status     string            `json:"status"`
		Components []componentHealth `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return fmt.Errorf("core unhealthy: reading %s: %w", path, err)
	}
	if h.Status != "healthy" {
		return fmt.Errorf("core unhealthy: %+v", h.Components)
	}
	return nil
}
