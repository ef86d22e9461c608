package roles

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// https in the fake Harbor, as real prepare sets it up (prepare/<2.x tag>/utils/nginx.py
// render_nginx_template and templates/nginx/nginx.https.conf.jinja; 1.10's prepare is not in
// harbor-real, and its nginx.py and template do the same in what the fake reads):
//
//   - the certificate and key harbor.yml names are copied from the host to
//     <data_volume>/secret/cert/server.{crt,key} (copyNginxCerts), which docker-compose.yml
//     mounts into the proxy at /etc/cert (utils/cert.py SSL_CERT_PATH, SSL_CERT_KEY_PATH);
//   - nginx.conf serves TLS on 8443 with them, and the http port 8080 answers every request
//     with `return 308 https://$host:<https.port>$request_uri` (https_redirect: '$host' plus
//     ':' and https_port, which parse_yaml_config always sets, 443 by default);
//   - the compose file publishes https.port on 8443 beside http.port on 8080.

// Where prepare puts the proxy's certificate and key inside the container.
const (
	sslCertPath    = "/etc/cert/server.crt"
	sslCertKeyPath = "/etc/cert/server.key"
	// proxyHTTPPort and proxyHTTPSPort are where nginx-photon listens inside its container.
	proxyHTTPPort  = 8080
	proxyHTTPSPort = 8443
)

// httpsPortOf is https.port as parse_yaml_config reads it: https_config.get('port', 443).
func httpsPortOf(h *harborYML) string {
	if h.has("https.port") {
		if p, err := h.str("https.port"); err == nil && p != "" {
			return p
		}
	}
	return "443"
}

// nginxConfFor is the nginx.conf prepare renders: nginx.http.conf.jinja's shape, or with https
// the nginx.https.conf.jinja one.
func nginxConfFor(s settings) string {
	if !s.https {
		return nginxConf
	}
	return nginxHTTPSConf(s.httpsPort)
}

// nginxHTTPSConf is nginx.https.conf.jinja in the fake's small form: the same servers, ports,
// certificate paths and redirect; not its headers, ciphers and locations.
func nginxHTTPSConf(httpsPort string) string {
	return `worker_processes auto;

events {
  worker_connections 1024;
}

http {
  upstream core {
    server core:8080;
  }

  server {
    listen 8443 ssl;
    server_tokens off;
    ssl_certificate ` + sslCertPath + `;
    ssl_certificate_key ` + sslCertKeyPath + `;
    ssl_protocols TLSv1.2;
    client_max_body_size 0;

    location / {
      proxy_pass http://core/;
    }
  }

  server {
    listen 8080;
    return 308 https://$host:` + httpsPort + `$request_uri;
  }
}
`
}

// proxyListenAddr is where the proxy listens for a server of nginx.conf: its real port in a
// container; in unit tests FAKEHARBOR_LISTEN for 8080 (the role's port) and
// FAKEHARBOR_LISTEN_<port> for any other.
func proxyListenAddr(env *Env, port int) string {
	if a := env.Getenv("FAKEHARBOR_LISTEN_" + strconv.Itoa(port)); a != "" {
		return a
	}
	if port == proxyHTTPPort {
		return env.listenAddr(port)
	}
	return ":" + strconv.Itoa(port)
}

// proxyHTTPSHealth is the second half of nginx-photon's HEALTHCHECK (`curl --fail -s
// http://localhost:8080 || curl -k --fail -s https://localhost:8443`): with https on, 8080 only
// redirects, so the proxy is healthy when core answers path through TLS on 8443. -k: the
// certificate names the public hostname, not localhost.
func proxyHTTPSHealth(env *Env, path string) error {
	addr := proxyListenAddr(env, proxyHTTPSPort)
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // curl -k, on the container's own loopback
	}}
	resp, err := client.Get("https://" + addr + path)
	if err != nil {
		return fmt.Errorf("proxy unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("proxy unhealthy: https: %s", resp.Status)
	}
	return nil
}
