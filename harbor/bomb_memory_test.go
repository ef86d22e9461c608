package harbor

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileConfigsInBoundedMemory: an alias bomb that would expand to about 10^9 values, and
// a harbor.yml claiming 1 TB (a sparse file), are refused while the process allocates less
// than 64 MiB in total: nothing is expanded or read beyond the limits.
func TestHostileConfigsInBoundedMemory(t *testing.T) {
	const maxAlloc = 64 << 20
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 'b'; i <= 'i'; i++ {
		laughs += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = string(i)
	}
	bomb := writeFile(t, "bomb.yml", laughs)
	huge := filepath.Join(t.TempDir(), "harbor.yml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatalf("making a sparse 1 TB file: %v", err)
	}
	f.Close()
	for _, c := range []struct {
		name, path string
		want       error
	}{{"billion laughs", bomb, ErrConfigAliases}, {"1 TB file", huge, ErrConfigTooLarge}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ReadConfig(c.path)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line of %v", c.name, err, c.want)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: refused allocating %d KiB in total", c.name, alloc>>10)
		if alloc > maxAlloc {
			t.Errorf("%s: allocated %d MiB; want < %d MiB", c.name, alloc>>20, maxAlloc>>20)
		}
	}
}
