package fakeharbor

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is how many bytes of generated content (uncompressed, on top of the harbord binary) one
// release carries in total over its images.
type Size int64

// The sizes the tests, the demo and the benchmarks use. Any other byte count works too.
const (
	// SizeTiny is for unit and Docker end-to-end tests: a few hundred KB plus the binary.
	SizeTiny Size = 320 << 10
	// SizeMedium is about a quarter of a real release.
	SizeMedium Size = 250 << 20
	// SizeLarge is about the size of a real Harbor 1.10 release's images.
	SizeLarge Size = 1 << 30
)

// ParseSize reads "tiny", "medium", "large" or a byte count with an optional unit
// ("250MB", "3GB", "1GiB", "4096").
func ParseSize(s string) (Size, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "tiny":
		return SizeTiny, nil
	case "medium":
		return SizeMedium, nil
	case "large":
		return SizeLarge, nil
	}
	num := strings.TrimSpace(s)
	mult := int64(1)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(num), strings.ToUpper(u.suffix)) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: use tiny, medium, large or a byte count such as 250MB or 3GB", s)
	}
	return Size(n * float64(mult)), nil
}

// String names the preset sizes and prints others in MiB.
func (s Size) String() string {
	switch s {
	case SizeTiny:
		return "tiny"
	case SizeMedium:
		return "medium"
	case SizeLarge:
		return "large"
	}
	return fmt.Sprintf("%dMiB", int64(s)>>20)
}
