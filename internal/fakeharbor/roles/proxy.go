package roles

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const nginxConfPath = "/etc/nginx/nginx.conf"

var (
	nginxServer   = regexp.MustCompile(`(?m)^\s*server\s*\{`)
	nginxListen   = regexp.MustCompile(`(?m)^\s*listen\s+(\d+)(\s+ssl)?\s*;`)
	nginxUpstream = regexp.MustCompile(`(?s)upstream\s+core\s*\{\s*server\s+([^;\s]+)\s*;`)
	nginxCert     = regexp.MustCompile(`(?m)^\s*ssl_certificate\s+([^;\s]+)\s*;`)
	nginxCertKey  = regexp.MustCompile(`(?m)^\s*ssl_certificate_key\s+([^;\s]+)\s*;`)
	nginxReturn   = regexp.MustCompile(`(?m)^\s*return\s+(\d{3})\s+([^;\s]+)\s*;`)
)

// nginxSrv is one `server { ... }` block of nginx.conf, as far as the fake reads it.
type nginxSrv struct {
	port     int
	ssl      bool   // `listen N ssl`
	cert     string // ssl_certificate
	key      string // ssl_certificate_key
	code     int    // `return CODE TARGET;` at server level: every request answered with it
	redirect string // TARGET, with nginx's $host and $request_uri
}

// runProxy is nginx-photon: it reads the nginx.conf prepare wrote (its servers: listen port,
// ssl and certificate, a server-level `return`; the upstream core) and serves every server:
// requests to a server without `return` go to core. With https on, prepare writes TLS on 8443
// and a redirect on 8080 (proxy_tls.go).
func runProxy(env *Env, _ []string) int {
	servers, upstream, err := readNginxConf(env)
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
	// nginx loads every certificate before it listens anywhere: a missing one stops it.
	var listeners []net.Listener
	var handlers []http.Handler
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	for _, s := range servers {
		ln, err := s.listen(env)
		if err != nil {
			env.logf("proxy", "%v", err)
			return exitFail
		}
		listeners = append(listeners, ln)
		var h http.Handler = p
		if s.code != 0 {
			h = s.returnHandler()
		}
		handlers = append(handlers, h)
	}
	done := make(chan int, len(listeners))
	for i, ln := range listeners {
		go func() { done <- serveListener(env, "proxy", ln, handlers[i]) }()
	}
	// One server ending (Stop in tests) ends the process, as nginx's master would.
	return <-done
}

// listen opens the server's port, with TLS from its certificate and key when it says ssl.
func (s nginxSrv) listen(env *Env) (net.Listener, error) {
	var cfg *tls.Config
	if s.ssl {
		if s.cert == "" || s.key == "" {
			return nil, fmt.Errorf(`[emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive in %s`, nginxConfPath)
		}
		pair, err := tls.LoadX509KeyPair(env.Path(s.cert), env.Path(s.key))
		if err != nil {
			return nil, fmt.Errorf("[emerg] cannot load certificate %q: %v", s.cert, err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	addr := proxyListenAddr(env, s.port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("[emerg] bind() to %s failed: %v", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

// returnHandler answers every request with the server's `return`: a redirect to its target
// with $host (the request's host without the port) and $request_uri filled in.
func (s nginxSrv) returnHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		target := strings.NewReplacer("$host", host, "$request_uri", r.URL.RequestURI()).Replace(s.redirect)
		if s.code >= 300 && s.code < 400 {
			w.Header().Set("Location", target)
		}
		w.WriteHeader(s.code)
	})
}

// serveListener serves h on ln until env.Stop is closed (tests) or the process is killed.
func serveListener(env *Env, role string, ln net.Listener, h http.Handler) int {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if env.Stop != nil {
		go func() {
			<-env.Stop
			srv.Close()
		}()
	}
	env.logf(role, "listening on %s", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		env.logf(role, "serving: %v", err)
		return exitFail
	}
	return exitOK
}

// readNginxConf finds the servers and core's address in nginx.conf.
func readNginxConf(env *Env) (servers []nginxSrv, upstream string, err error) {
	data, err := os.ReadFile(env.Path(nginxConfPath))
	if err != nil {
		return nil, "", fmt.Errorf("[emerg] open() %q failed: %w", nginxConfPath, err)
	}
	u := nginxUpstream.FindSubmatch(data)
	if u == nil {
		return nil, "", fmt.Errorf("[emerg] %s has no upstream core", nginxConfPath)
	}
	for _, body := range serverBlocks(string(data)) {
		l := nginxListen.FindStringSubmatch(body)
		if l == nil {
			continue
		}
		s := nginxSrv{ssl: l[2] != ""}
		s.port, _ = strconv.Atoi(l[1])
		if m := nginxCert.FindStringSubmatch(body); m != nil {
			s.cert = m[1]
		}
		if m := nginxCertKey.FindStringSubmatch(body); m != nil {
			s.key = m[1]
		}
		if m := nginxReturn.FindStringSubmatch(body); m != nil {
			s.code, _ = strconv.Atoi(m[1])
			s.redirect = m[2]
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("[emerg] %s has no server with a listen port", nginxConfPath)
	}
	return servers, string(u[1]), nil
}

// serverBlocks returns the body of every `server { ... }` block holding a `listen` (upstream
// blocks hold `server host:port;` lines, not blocks), with the blocks nested in it (locations)
// left out: only server-level directives count.
func serverBlocks(conf string) []string {
	var out []string
	for _, loc := range nginxServer.FindAllStringIndex(conf, -1) {
		depth, i := 1, loc[1]
		var b strings.Builder
		for ; i < len(conf) && depth > 0; i++ {
			switch conf[i] {
			case '{':
				depth++
			case '}':
				depth--
			default:
				if depth == 1 {
					b.WriteByte(conf[i])
				}
			}
			if depth == 1 && conf[i] == '}' {
				b.WriteByte('\n')
			}
		}
		out = append(out, b.String())
	}
	return out
}
