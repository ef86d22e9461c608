package roles

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzMigrateConfig feeds arbitrary harbor.yml files to the key mapping: it must never panic,
// must fail only in the ways the real migrator fails (an undefined key, a version it has no
// chain for, a file that is not a mapping or whose intermediate rendering does not parse), and
// when it succeeds the result carries the target `_version` and is the same on every run.
func FuzzMigrateConfig(f *testing.F) {
	for _, name := range []string{"harbor-v1.8.0.yml", "harbor-v1.9.0.yml", "harbor-v1.10.0.yml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("_version: 1.8.0\nhostname: a\nhttp: {port: 1}\nlog: {level: x, rotate_count: 1, rotate_size: 1, location: /l}\n"))
	f.Add([]byte("_version: 1.9.0\nhostname: [1, 'a']\nhttp: {port: ~}\nproxy: {components: abc}\nstorage_service: {s3: {bucket: b}, redirect: {disabled: true}}\n"))
	f.Add([]byte("_version: 1.8.0\nclair: ~\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			return
		}
		for _, from := range []string{"1.8.0", "1.9.0"} {
			out, err := MigrateConfig(&doc, from, "1.10.0")
			if err != nil {
				var undef *UndefinedError
				var unsupported *UnsupportedVersionError
				if !errors.As(err, &undef) && !errors.As(err, &unsupported) && !isInputError(err) {
					t.Fatalf("from %s: unexpected error type %T: %v", from, err, err)
				}
				continue
			}
			if !bytes.Contains(out, []byte("\n_version: 1.10.0\n")) {
				t.Fatalf("from %s: no _version line in\n%s", from, out)
			}
			again, err := MigrateConfig(&doc, from, "1.10.0")
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("from %s: a second run differs (%v)", from, err)
			}
		}
	})
}

func isInputError(err error) bool {
	var yerr *yaml.TypeError
	return errors.As(err, &yerr) || bytes.Contains([]byte(err.Error()), []byte("not a YAML mapping")) ||
		bytes.Contains([]byte(err.Error()), []byte("reading the intermediate"))
}
