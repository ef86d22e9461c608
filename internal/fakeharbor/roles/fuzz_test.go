package roles

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, name := range []string{"harbor-v1.8.0.yml", "harbor-v1.9.0.yml", "harbor-v1.10.0.yml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("_version: 1.8.0\nhostname: a\nhttp: {port: 1}\nlog: {level: x, rotate_count: 1, rotate_size: 1, location: /l}\n"))
	f.Add([]byte("_version: 1.9.0\nhostname: [1, 'a']\nhttp: {port: ~}\nproxy: {http_proxy: a, https_proxy: b, no_proxy: c, components: abc}\nstorage_service: {s3: {bucket: b}, redirect: {disabled: true}}\n"))
	f.Add([]byte("_version: 1.8.0\nclair: ~\n"))
}

// FuzzMigrateConfig feeds arbitrary files to the migration: it must never panic, must fail only
// in the ways cfg/run.py fails, and when it migrates, the result carries the target `_version`,
// is ASCII (what Python 2 can write) and is the same on every run.
func FuzzMigrateConfig(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := MigrateConfig(data, "1.10.0", true)
		if err != nil {
			var (
				undef *UndefinedError
				typ   *TypeError
				load  *LoadError
				ver   *UnsupportedVersionError
				ascii *NotASCIIError
			)
			if !errors.As(err, &undef) && !errors.As(err, &typ) && !errors.As(err, &load) && !errors.As(err, &ver) &&
				!errors.As(err, &ascii) && !strings.HasPrefix(err.Error(), "Exception: ") &&
				!strings.Contains(err.Error(), "Error: ") && !strings.Contains(err.Error(), "harbor.cfg") {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			return
		}
		if len(m.Chain) == 0 {
			return // no need to upgrade
		}
		if !bytes.Contains(m.Out, []byte("\n_version: 1.10.0\n")) || !isASCII(m.Out) {
			t.Fatalf("no _version line, or non-ASCII, in\n%s", m.Out)
		}
		again, err := MigrateConfig(data, "1.10.0", true)
		if err != nil || !bytes.Equal(again.Out, m.Out) {
			t.Fatalf("a second run differs (%v)", err)
		}
	})
}
