package roles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCertPEM is a self-signed ECDSA P-256 certificate for 127.0.0.1 and its key, PEM.
func testCertPEM(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "harbor.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"harbor.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// trustingClient trusts only certPEM and follows no redirect.
func trustingClient(t *testing.T, certPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("bad certificate PEM")
	}
	return &http.Client{Timeout: 5 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// prepareHTTPSThenProxy runs prepare (1.x or 2.x, args) on an https harbor.yml with a real
// certificate under /hostfs, then starts the proxy on what prepare wrote, as the container sees
// it: nginx.conf at /etc/nginx, <data_volume>/secret/cert at /etc/cert (the compose mounts).
// It returns the proxy's http and https addresses and the certificate.
func prepareHTTPSThenProxy(t *testing.T, s *stack, e *testEnv, dataVolume string, args ...string) (httpAddr, httpsAddr string, certPEM []byte) {
	t.Helper()
	certPEM, keyPEM := testCertPEM(t)
	e.write(hostPath("/etc/ssl/h.crt"), string(certPEM))
	e.write(hostPath("/etc/ssl/h.key"), string(keyPEM))
	if code := e.run(args...); code != 0 {
		t.Fatalf("prepare: exit %d\n%s", code, e.output())
	}
	compose := e.read(prepareCompose)
	for _, want := range []string{dataVolume + "/secret/cert:/etc/cert:z", "127.0.0.1:18443:8443"} {
		if !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml lacks %q:\n%s", want, compose)
		}
	}
	if core := e.read(prepareConfig + "/core/env"); !strings.Contains(core, "EXT_ENDPOINT=https://harbor.test:18443\n") {
		t.Errorf("core/env EXT_ENDPOINT is not the https URL:\n%s", core)
	}
	conf := e.read(prepareConfig + "/nginx/nginx.conf")
	httpAddr, httpsAddr = freeAddr(t), freeAddr(t)
	p := s.env("v1.10.0", httpAddr)
	p.vars["FAKEHARBOR_LISTEN_8443"] = httpsAddr
	p.write(nginxConfPath, strings.Replace(conf, "server core:8080;", "server "+s.coreAdr+";", 1))
	if err := os.MkdirAll(s.root+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.path(prepareData+"/secret/cert"), s.root+filepath.Dir(sslCertPath)); err != nil {
		t.Fatal(err)
	}
	s.start(p, "proxy")
	return httpAddr, httpsAddr, certPEM
}

// With https in harbor.yml, prepare (1.10 and 2.x) writes what makes the proxy serve TLS on
// 8443 with the certificate it copied, and answer the http port with a 308 to the https port
// (templates/nginx/nginx.https.conf.jinja); the proxy's healthcheck passes through TLS.
func TestProxyServesHTTPSAsPrepared(t *testing.T) {
	for _, c := range []struct {
		name string
		env  func(t *testing.T) *testEnv
		args []string
	}{
		{"v1.10.0", func(t *testing.T) *testEnv {
			return prepareEnv(t, "v1.10.0", "harbor-v1.10.0.yml", "/your/certificate/path", "/etc/ssl/h.crt",
				"/your/private/key/path", "/etc/ssl/h.key", "port: 443\n", "port: 18443\n")
		}, []string{"prepare", "--with-notary"}},
		{"v2.4.3", func(t *testing.T) *testEnv {
			yml := strings.NewReplacer("certificate: /etc/fake/server.crt", "certificate: /etc/ssl/h.crt",
				"private_key: /etc/fake/server.key", "private_key: /etc/ssl/h.key", "  port: 443\n", "  port: 18443\n").
				Replace(line2xYML(t, "v2.4.3", true, false))
			return prepare2Env(t, "v2.4.3", yml)
		}, []string{"prepare", "prepare", "--with-notary"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t)
			// prepare runs in the stack's root, so that the proxy finds what it wrote.
			e := c.env(t)
			in := e.read(prepareInput)
			e.root = s.root
			e.write(prepareInput, in)
			if err := os.MkdirAll(e.path(prepareData), 0o755); err != nil {
				t.Fatal(err)
			}
			s.core("v1.10.0")
			httpAddr, httpsAddr, certPEM := prepareHTTPSThenProxy(t, s, e, "/srv/harbor-data", c.args...)
			client := trustingClient(t, certPEM)
			resp, err := client.Get("http://" + httpAddr + "/api/ping?x=1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != "https://127.0.0.1:18443/api/ping?x=1" {
				t.Errorf("http port: %s, Location %q; want 308 to the https port", resp.Status, loc)
			}
			resp, err = client.Get("https://" + httpsAddr + "/api/ping")
			if err != nil {
				t.Fatalf("https through the proxy with the prepared certificate: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "Pong" {
				t.Errorf("ping over https: %s %q", resp.Status, body)
			}
			hc := s.env("v1.10.0", httpAddr)
			hc.vars["FAKEHARBOR_LISTEN_8443"] = httpsAddr
			if code := hc.run("health", "proxy"); code != 0 {
				t.Errorf("health proxy over https: exit %d\n%s", code, hc.output())
			}
		})
	}
}

// nginx refuses to start when the certificate of an ssl server is missing, and the proxy's
// healthcheck fails when 8080 redirects and nothing answers on 8443.
func TestProxyHTTPSFailures(t *testing.T) {
	s := newStack(t)
	httpAddr := freeAddr(t)
	e := s.env("v1.10.0", httpAddr)
	e.vars["FAKEHARBOR_LISTEN_8443"] = freeAddr(t)
	e.write(nginxConfPath, strings.Replace(nginxHTTPSConf("443"), "server core:8080;", "server "+s.coreAdr+";", 1))
	if code := e.run("proxy"); code != exitFail || !strings.Contains(e.output(), `cannot load certificate "/etc/cert/server.crt"`) {
		t.Errorf("proxy without its certificate: exit %d\n%s", code, e.output())
	}
	// Only the redirecting server: health follows the real HEALTHCHECK to 8443, which is closed.
	e.write(nginxConfPath, "http {\n  upstream core {\n    server "+s.coreAdr+";\n  }\n  server {\n    listen 8080;\n    return 308 https://$host:443$request_uri;\n  }\n}\n")
	s.start(e, "proxy")
	if code := e.run("health", "proxy"); code != exitFail {
		t.Errorf("health with 8443 closed: exit %d\n%s", code, e.output())
	}
}
