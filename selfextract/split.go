package selfextract

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/harborbundle/bundle/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Part is one piece of a split bundle.
type Part struct {
	Path   string
	Size   int64
	SHA256 string // hex
}

// partSuffix matches the ".001" style suffix of a part file.
var partSuffix = regexp.MustCompile(`\.(\d{3,})$`)

// Split cuts the file at path into parts of at most partSize bytes named path.001, path.002, ...
// whose concatenation is byte-identical to the file. Each part is written through a temp file and
// renamed, so a part under its final name is always complete.
func Split(path string, partSize int64) ([]Part, error) {
	if partSize <= 0 {
		return nil, fmt.Errorf("split size must be positive")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	count := (st.Size() + partSize - 1) / partSize
	if count > 999 {
		return nil, fmt.Errorf("splitting %s into %d-byte parts would make %d parts (max 999): choose a larger --split", path, partSize, count)
	}
	var parts []Part
	for i := int64(0); i < count; i++ {
		name := fmt.Sprintf("%s.%03d", path, i+1)
		p, err := writePart(name, io.NewSectionReader(f, i*partSize, partSize))
		if err != nil {
			for _, done := range parts {
				os.Remove(done.Path)
			}
			return nil, fmt.Errorf("writing part %s: %w", name, err)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func writePart(name string, r io.Reader) (Part, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".partial-*")
	if err != nil {
		return Part{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return Part{}, err
	}
	return Part{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// ChecksumPath is the NAME.run.sha256 file that goes with a bundle or with any of its parts.
func ChecksumPath(path string) string {
	return partSuffix.ReplaceAllString(path, "") + ".sha256"
}

// WriteChecksums writes NAME.run.sha256 in sha256sum's format: the whole file first, then each
// part, so `sha256sum -c --ignore-missing` works on whatever the user carried across.
func WriteChecksums(runPath string, whole [32]byte, parts []Part) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%x  %s\n", whole, filepath.Base(runPath))
	for _, p := range parts {
		fmt.Fprintf(&b, "%s  %s\n", p.SHA256, filepath.Base(p.Path))
	}
	return atomicfile.Write(ChecksumPath(runPath), []byte(b.String()), 0o644)
}

// ReadChecksums reads a sha256sum-style file into file name -> hex digest.
func ReadChecksums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		sums[strings.TrimPrefix(name, "*")] = strings.ToLower(sum)
	}
	return sums, sc.Err()
}

// IsPart reports whether path names a part (NAME.run.001 ...).
func IsPart(path string) bool { return partSuffix.MatchString(path) }

// PartError names the part of a split bundle that failed its check.
type PartError struct {
	Part   string
	Reason string
}

func (e *PartError) Error() string { return fmt.Sprintf("part %s: %s", e.Part, e.Reason) }

// CheckParts hashes each given part and compares it with NAME.run.sha256 next to it. It returns
// the full, ordered list of parts of the bundle when all of them are present (so the caller can
// go on and verify the joined content with OpenParts), or nil when only some were given.
func CheckParts(paths []string) (all []string, err error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no parts given")
	}
	sumsPath := ChecksumPath(paths[0])
	sums, err := ReadChecksums(sumsPath)
	if err != nil {
		return nil, fmt.Errorf("reading checksums of the parts: %w (copy %s along with the parts)", err, filepath.Base(sumsPath))
	}
	for _, p := range paths {
		if ChecksumPath(p) != sumsPath {
			return nil, fmt.Errorf("%s does not belong with %s", p, paths[0])
		}
		want, ok := sums[filepath.Base(p)]
		if !ok {
			return nil, &PartError{p, "not listed in " + filepath.Base(sumsPath)}
		}
		got, err := fileSHA256(p)
		if err != nil {
			return nil, &PartError{p, err.Error()}
		}
		if got != want {
			return nil, &PartError{p, "sha256 mismatch: the part is damaged, copy it again"}
		}
	}
	// Which parts make the whole bundle, by the checksum file.
	base := strings.TrimSuffix(filepath.Base(sumsPath), ".sha256")
	var names []string
	for name := range sums {
		if m := partSuffix.FindStringSubmatch(name); m != nil && strings.TrimSuffix(name, m[0]) == base {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return partNumber(names[i]) < partNumber(names[j]) })
	given := map[string]bool{}
	for _, p := range paths {
		given[filepath.Base(p)] = true
	}
	dir := filepath.Dir(paths[0])
	for _, n := range names {
		if !given[n] {
			return nil, nil
		}
		all = append(all, filepath.Join(dir, n))
	}
	return all, nil
}

func partNumber(name string) int {
	m := partSuffix.FindStringSubmatch(name)
	n, _ := strconv.Atoi(m[1])
	return n
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ParseSize reads sizes like "700M", "4G", "4GiB", "1.5G" or a plain byte count (powers of 1024:
// removable media are sold in decimal units, but a part a little smaller than the medium fits).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G or T suffix, like 4G", s)
	}
	return int64(f * float64(mult)), nil
}
