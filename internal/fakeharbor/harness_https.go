package fakeharbor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// https in a test install (InstallOptions.HTTPS), as an administrator sets it up: a certificate
// and key beside install.sh (in the install dir, where bundle must carry them across an
// upgrade), harbor.yml's https block naming them with a port, and install.sh as usual. Harbor's
// prepare copies them to <data_volume>/secret/cert and its nginx serves TLS on https.port, the
// http port redirecting there (roles/proxy_tls.go).

// testHostname is harbor.yml's hostname in a test install.
const testHostname = "fakeharbor.test"

// Where Install writes the certificate and key, relative to the install dir.
const (
	certFile = "cert/server.crt"
	keyFile  = "cert/server.key"
)

// testCert is one self-signed ECDSA P-256 certificate for every https install of the process
// (127.0.0.1, localhost and the test hostname): the harness's client trusts it and nothing else.
var testCert struct {
	once         sync.Once
	certPEM, key []byte
	pool         *x509.CertPool
	err          error
}

func harborCert() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	testCert.once.Do(func() {
		testCert.certPEM, testCert.key, testCert.err = selfSignedCert(testHostname)
		if testCert.err == nil {
			testCert.pool = x509.NewCertPool()
			testCert.pool.AppendCertsFromPEM(testCert.certPEM)
		}
	})
	return testCert.certPEM, testCert.key, testCert.pool, testCert.err
}

// selfSignedCert makes a server certificate for hostname, localhost and 127.0.0.1, valid for a
// day around now, and its key (PEM, SEC 1).
func selfSignedCert(hostname string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hostname, Organization: []string{"fakeharbor test"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		DNSNames:     []string{hostname, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// writeCert writes the certificate and key into the install dir (the key 0600, as an
// administrator keeps it) and returns harbor.yml's https settings naming them.
func (h *Harbor) writeCert() (*ymlHTTPS, error) {
	certPEM, keyPEM, _, err := harborCert()
	if err != nil {
		return nil, fmt.Errorf("making the test certificate: %w", err)
	}
	c, k := filepath.Join(h.Dir, certFile), filepath.Join(h.Dir, keyFile)
	if err := os.MkdirAll(filepath.Dir(c), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c, certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k, keyPEM, 0o600); err != nil {
		return nil, err
	}
	return &ymlHTTPS{Port: h.HTTPSPort, Certificate: c, PrivateKey: k}, nil
}

// CertPEM is the certificate of the https installs (nil before the first one): what a client
// of a test Harbor trusts.
func CertPEM() []byte {
	certPEM, _, _, err := harborCert()
	if err != nil {
		return nil
	}
	return certPEM
}

var (
	clientOnce sync.Once
	client     *http.Client
)

// httpClient is the harness's HTTP client: it trusts the test certificate only (a Harbor serving
// any other fails) and follows redirects, as curl -L and docker do.
func httpClient() *http.Client {
	clientOnce.Do(func() {
		tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
		if _, _, pool, err := harborCert(); err == nil {
			tr.TLSClientConfig.RootCAs = pool
		}
		client = &http.Client{Transport: tr}
	})
	return client
}
