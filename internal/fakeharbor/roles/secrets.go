package roles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Where prepare keeps the secrets, under the data volume's secret/ (mounted at /secret).
const (
	secretKeyPath  = prepareSecret + "/keys/secretkey"
	privateKeyPath = prepareSecret + "/core/private_key.pem"
	rootCertPath   = prepareSecret + "/registry/root.crt"
)

// prepareSecrets creates the secretkey (which encrypts the credentials stored in the database)
// and the token signing key pair, each only when missing: an existing secretkey must be kept, or
// the database's credentials could no longer be decrypted.
func prepareSecrets(env *Env) error {
	if _, err := os.Stat(env.Path(secretKeyPath)); errors.Is(err, os.ErrNotExist) {
		if err := writeFile(env, secretKeyPath, []byte(randomString(16)), 0o600, uidHarbor); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Generated and saved secret to file: %s\n", secretKeyPath)
	} else if err != nil {
		return fmt.Errorf("checking %s: %w", secretKeyPath, err)
	}
	_, errKey := os.Stat(env.Path(privateKeyPath))
	_, errCert := os.Stat(env.Path(rootCertPath))
	if errKey == nil && errCert == nil {
		return nil
	}
	key, cert, err := tokenKeyPair()
	if err != nil {
		return err
	}
	if err := writeFile(env, privateKeyPath, key, 0o600, uidHarbor); err != nil {
		return err
	}
	if err := writeFile(env, rootCertPath, cert, 0o644, uidHarbor); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Generated certificate, key file: %s, cert file: %s\n", privateKeyPath, rootCertPath)
	return nil
}

// tokenKeyPair makes the key core signs registry tokens with and the certificate registry checks
// them with (real Harbor: RSA 4096 by openssl; here ECDSA, which is fast and equally a file).
func tokenKeyPair() (keyPEM, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the token key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "harbor-token-ca"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("making the token certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the token key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
