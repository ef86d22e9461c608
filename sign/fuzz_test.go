package sign

import (
	"bytes"
	"os"
	"testing"
)

// Seeds: files as minisign and bundle write them, plus near misses.
func signatureSeeds(f *testing.F) {
	_, sec, err := GenerateKey("")
	if err != nil {
		f.Fatal(err)
	}
	sig, err := sec.SignBytes([]byte("x"), "timestamp:1\tfile:a.run\thashed")
	if err != nil {
		f.Fatal(err)
	}
	good := sig.Marshal()
	f.Add(good)
	f.Add(bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")))
	f.Add(bytes.TrimSuffix(good, []byte("\n")))
	f.Add(good[:len(good)/2])
	f.Add([]byte("untrusted comment: signature from minisign secret key\n" +
		"RUTCf1RCM+wENc3SM1lq9kQdFH18k2w2kqWY9fEAiEYOFuJ4vAZf9OWn9ija3unfbUd1FTQnZVK30yEpgIl2Hb8MQdRRBAnt1wk=\n" +
		"trusted comment: timestamp:1795630391\tfile:f\thashed\n" +
		"hHbBE27WT5+98q+nv2hC+kVEzaaYFNwYo30ppo399T3r+IZxBdLXH5C3ynSpyJp9BJO6zNFEPa4lWMfFBFDJCg==\n"))
	f.Add([]byte{})
}

// FuzzParseSignature: never panics, and whatever parses survives Marshal and Parse unchanged,
// so the bytes we verify are the bytes we read.
func FuzzParseSignature(f *testing.F) {
	signatureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := ParseSignature(data)
		if err != nil {
			return
		}
		again, err := ParseSignature(sig.Marshal())
		if err != nil {
			t.Fatalf("re-parsing our Marshal of an accepted signature: %v\n%q", err, sig.Marshal())
		}
		if *again != *sig {
			t.Fatalf("signature changed through Marshal:\n%+v\n%+v", sig, again)
		}
	})
}

// FuzzParsePublicKey: never panics; an accepted key re-marshals to a key with the same ID and
// key material.
func FuzzParsePublicKey(f *testing.F) {
	pub, _, err := GenerateKey("")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pub.Marshal())
	f.Add([]byte(pub.String()))
	f.Add([]byte("untrusted comment: minisign public key 3504EC3342547FC2\nRWTCf1RCM+wENTZWM/4/8TAzPQR0ADqi/iIo6Lyxit2mmfd6RSn/ijRu\n"))
	f.Add([]byte("untrusted comment: x\n\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		pk, err := ParsePublicKey(data)
		if err != nil {
			return
		}
		again, err := ParsePublicKey(pk.Marshal())
		if err != nil {
			t.Fatalf("re-parsing our Marshal of an accepted key: %v", err)
		}
		if !again.Equal(pk) {
			t.Fatalf("key changed through Marshal: %s != %s", again, pk)
		}
	})
}

// FuzzParseSecretKey: never panics and never runs the key derivation of an encrypted key
// without a password (so no input costs more than parsing).
func FuzzParseSecretKey(f *testing.F) {
	_, sec, err := GenerateKey("")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sec.Marshal())
	if enc, err := os.ReadFile("testdata/minisign-encrypted.key"); err == nil {
		f.Add(enc)
	}
	f.Add([]byte("untrusted comment: minisign encrypted secret key\n" +
		"RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwn9UQjPsBDWeApebhGm7mhOSmd93gxVS8/ZZQrUILcA28yANpV/NYjZWM/4/8TAzPQR0ADqi/iIo6Lyxit2mmfd6RSn/ijRuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sk, err := ParseSecretKey(data, nil)
		if err != nil {
			return
		}
		again, err := ParseSecretKey(sk.Marshal(), nil)
		if err != nil {
			t.Fatalf("re-parsing our Marshal of an accepted key: %v", err)
		}
		if again.ID != sk.ID || !again.Key.Equal(sk.Key) {
			t.Fatal("secret key changed through Marshal")
		}
	})
}
