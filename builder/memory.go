package builder

import (
	"math"
	"os"
	"runtime/debug"
)

// A build's memory is bounded by design: recompression holds at most payload.EncoderBudget of
// zstd encoders (one at --level max), downloads and copies use fixed 256 KiB buffers (one per
// job or worker, recycled), channels and queues hold descriptors, never blob content, and no
// blob is ever held whole in memory. That live set is about 45 MiB at its largest (--level max:
// 39 MiB of encoder). What the design cannot fix is Go's garbage collector letting the heap
// grow to twice the live set between collections (GOGC=100), which alone would put the peak
// at 90+ MiB. buildMemoryLimit is the runtime's soft limit during a build, a guard above the
// live set rather than a squeeze on it: the collector runs only when a few MiB of garbage have
// piled up, which the build makes little of (a few dozen collections in a --level max build
// of 256 MiB), and each is cheap since the encoder tables are pointer-free. With the binary's
// text (12 MiB resident) the process then peaks under 64 MiB.
const buildMemoryLimit = 52 << 20

// limitMemory sets buildMemoryLimit for the duration of a build, unless the user chose a limit
// (GOMEMLIMIT), and returns what restores the previous one.
func limitMemory() (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		return func() {}
	}
	prev := debug.SetMemoryLimit(buildMemoryLimit)
	return func() { debug.SetMemoryLimit(prev) }
}
