package fakeharbor

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/internal/harborreal"
)

// The https block is set as an administrator sets it, in every shipped harbor.yml: 1.8 and
// 1.9 ship it commented out, 1.10 and every 2.x harbor.yml.tmpl with placeholder paths.
func TestEditHarborYMLHTTPS(t *testing.T) {
	files := map[string]string{}
	for _, v := range []string{"v1.8.0", "v1.9.0", "v1.10.0"} {
		files[v] = "roles/testdata/harbor-" + v + ".yml"
	}
	tmpls, _ := filepath.Glob(filepath.Join(harborreal.RequireRoot(t), "installer", "v2.*", "harbor.yml.tmpl"))
	if len(tmpls) < 16 {
		t.Fatalf("found %d 2.x harbor.yml.tmpl in harbor-real, want every 2.x line", len(tmpls))
	}
	for _, p := range tmpls {
		files[filepath.Base(filepath.Dir(p))] = p
	}
	for v, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		https := &ymlHTTPS{Port: 18443, Certificate: "/tmp/x/harbor/cert/server.crt", PrivateKey: "/tmp/x/harbor/cert/server.key"}
		s := ymlSettings{Hostname: testHostname, HTTPPort: 18080, DataVolume: "/tmp/x/data", LogDir: "/tmp/x/log", HTTPS: https}
		out, err := editHarborYML(string(src), s) // reads it back: the https block parses to https
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if strings.Count(out, "\n") != strings.Count(string(src), "\n") || !strings.Contains(out, "\nhttps:\n") {
			t.Errorf("%s: lines added or removed, or no https block:\n%s", v, out)
		}
	}
}

// The test certificate is valid for 127.0.0.1, localhost and the test hostname, and the key
// in the install dir is its own.
func TestHarborCert(t *testing.T) {
	certPEM, keyPEM, pool, err := harborCert()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "localhost", testHostname} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("the certificate also names example.com")
	}
	k, _ := pem.Decode(keyPEM)
	key, err := x509.ParseECPrivateKey(k.Bytes)
	if err != nil || !key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("key does not match the certificate: %v", err)
	}
}
