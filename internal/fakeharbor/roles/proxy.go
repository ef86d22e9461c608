package roles

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
)

const nginxConfPath = "/etc/nginx/nginx.conf"

var (
	nginxListen   = regexp.MustCompile(`(?m)^\s*listen\s+(\d+)\s*;`)
	nginxUpstream = regexp.MustCompile(`(?s)upstream\s+core\s*\{\s*server\s+([^;\s]+)\s*;`)
)

// runProxy is nginx-photon: it reads the nginx.conf prepare wrote (listen port, upstream core)
// and passes every request to core.
func runProxy(env *Env, _ []string) int {
	port, upstream, err := readNginxConf(env)
	if err != nil {
		env.logf("proxy", "%v", err)
		return exitFail
	}
	u, err := url.Parse("http://" + upstream)
	if err != nil {
		env.logf("proxy", "reading the upstream of %s: %v", nginxConfPath, err)
		return exitFail
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		env.logf("proxy", "upstream core: %v", err)
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
	}
	return serve(env, "proxy", env.listenAddr(port), p)
}

// readNginxConf finds the listen port and core's address in nginx.conf.
func readNginxConf(env *Env) (port int, upstream string, err error) {
	data, err := os.ReadFile(env.Path(nginxConfPath))
	if err != nil {
		return 0, "", fmt.Errorf("[emerg] open() %q failed: %w", nginxConfPath, err)
	}
	l, u := nginxListen.FindSubmatch(data), nginxUpstream.FindSubmatch(data)
	if l == nil || u == nil {
		return 0, "", fmt.Errorf("[emerg] %s has no listen port or no upstream core", nginxConfPath)
	}
	port, _ = strconv.Atoi(string(l[1]))
	return port, string(u[1]), nil
}
