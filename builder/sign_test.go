package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

// TestSigned: a signed bundle carries a signature of its manifest that `verify --key` accepts,
// and NAME.run.minisig verifies the whole file as minisign would; signing stays reproducible.
func TestSigned(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	pub, sec, err := sign.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var sums []string
	for range 2 {
		opts := testOptions(t, srv, proxy, cache)
		opts.SignKey = sec
		res, err := Build(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := selfextract.Open(res.File)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.CheckSignature(pub); err != nil {
			t.Errorf("trailer signature: %v", err)
		}
		b.Close()
		if res.SignatureFile != res.File+".minisig" {
			t.Fatalf("signature file %q", res.SignatureFile)
		}
		sig, err := sign.ReadSignature(res.SignatureFile)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(res.File)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Verify(f, sig); err != nil {
			t.Errorf("detached signature of %s: %v", filepath.Base(res.File), err)
		}
		f.Close()
		sums = append(sums, fileSHA(t, res.File)+fileSHA(t, res.SignatureFile))
	}
	if sums[0] != sums[1] {
		t.Error("two signed builds of the same inputs differ")
	}
}
