package payload

import (
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Memory of the zstd encoders, bounded by design: every encoder comes from one pool that never
// holds (idle or busy) more than EncoderBudget bytes of them, so however many goroutines ask
// and however many cores the machine has, recompression's memory is a constant. An encoder's
// cost is fixed by its level: klauspost's match tables (fixed-size arrays) plus the history,
// which is two windows (one window plus a block at better and max, with WithLowerEncoderMem).

// EncoderBudget is what all live zstd encoders may hold at once: one max-level encoder (its
// 34 MiB of tables are what they are), or several of the cheaper levels. With the rest of a build
// (buffers, the runtime, the binary's text) it keeps `bundle build` under 64 MiB peak RSS.
const EncoderBudget = 44 << 20

// windowSize is the zstd window the encoders use: what the decoder on the host must hold. The
// max level uses half of it: its 34 MiB of tables leave no room for 8 MiB of history within
// the budget, and on layer tars the smaller window cost 0.004% of the payload (256 MiB fake
// release, 2026-12-01), since what a layer repeats is mostly near.
const windowSize, maxLevelWindowSize = 8 << 20, 4 << 20

// lowMemory is WithLowerEncoderMem: a history of one window instead of two, which costs a copy
// of the whole window every block once it is full (11% of a default-level build's CPU). The
// levels with the large tables need the memory to fit two encoders (better) or one (max) in
// EncoderBudget, and their slower match search makes the copy matter less.
func (l Level) lowMemory() bool { return l == LevelBetter || l == LevelMax }

func (l Level) windowSize() int {
	if l == LevelMax {
		return maxLevelWindowSize
	}
	return windowSize
}

// encoderMemory is one encoder's tables and buffers at level l (from klauspost's sizes, v1.20:
// tables of 8-byte entries, history of two windows, or one plus a 128 KiB block in low-memory
// mode, and the block buffers of a two-stage stream).
func encoderMemory(l Level) int64 {
	const blocks = 1 << 20
	hist := 2 * int64(l.windowSize())
	if l.lowMemory() {
		hist = int64(l.windowSize()) + 128<<10
	}
	switch l {
	case LevelFastest:
		return 8<<15 + hist + blocks
	case LevelDefault:
		return 8<<17 + 8<<15 + hist + blocks
	case LevelBetter:
		return 8<<19 + 8<<13 + hist + blocks
	}
	return 8<<22 + 8<<18 + hist + blocks
}

// Encoders is how many encoders of level l can work at once: one per CPU, within EncoderBudget,
// at least one. The builder runs that many recompression workers.
func Encoders(l Level) int {
	l, err := l.normalize()
	if err != nil {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), int(EncoderBudget/encoderMemory(l))))
}

// newEncoder returns a zstd encoder whose output depends only on the input and the level (not on
// the machine's core count: the stream is one sequence of blocks, the second goroutine only
// overlaps encoding with reading), so that builds are reproducible. The 8 MiB window keeps the
// decoder on the host within its memory budget; a larger one gained little on layer tars.
func newEncoder(w io.Writer, l Level) (*zstd.Encoder, error) {
	el, err := l.encoderLevel()
	if err != nil {
		return nil, err
	}
	return zstd.NewWriter(w, append(l.encoderOptions(el), zstd.WithEncoderConcurrency(2))...)
}

// encoderOptions are what decides the output bytes for level l (concurrency does not).
func (l Level) encoderOptions(el zstd.EncoderLevel) []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(el), zstd.WithWindowSize(l.windowSize()), zstd.WithLowerEncoderMem(l.lowMemory())}
}

// encoderPool hands out encoders within EncoderBudget. Idle encoders are kept (Reset makes a
// reused one start an independent stream, so the output bytes are the same) because allocating
// a fresh one per layer left the heap mostly garbage; unlike a sync.Pool it never drops them at a
// GC only to allocate them again. Idle encoders of another level are let go when a level is
// asked for that has none.
type encoderPool struct {
	mu    sync.Mutex
	cond  *sync.Cond
	level Level           // of the idle encoders
	idle  []*zstd.Encoder // all of level
	held  int64           // memory of the encoders handed out and not returned
}

var encoders = func() *encoderPool {
	p := &encoderPool{}
	p.cond = sync.NewCond(&p.mu)
	return p
}()

// getEncoder returns an encoder of level l writing to w, waiting while the budget is spent by
// encoders handed out to others. The caller returns it with putEncoder, whatever happened.
func getEncoder(w io.Writer, l Level) (*zstd.Encoder, error) {
	need := encoderMemory(l)
	p := encoders
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.held > 0 && p.held+need+p.idleMemory(l) > EncoderBudget {
		p.cond.Wait()
	}
	if p.level != l {
		p.idle, p.level = nil, l
	}
	p.held += need
	if n := len(p.idle); n > 0 {
		enc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		enc.Reset(w)
		return enc, nil
	}
	enc, err := newEncoder(w, l)
	if err != nil {
		p.held -= need
		p.cond.Broadcast()
	}
	return enc, err
}

// idleMemory is what the idle encoders would still hold after a request for level l: all but
// the one it reuses; none when they are of another level (they are let go).
func (p *encoderPool) idleMemory(l Level) int64 {
	if p.level != l || len(p.idle) == 0 {
		return 0
	}
	return int64(len(p.idle)-1) * encoderMemory(l)
}

// putEncoder gives back an encoder from getEncoder, closed or not.
func putEncoder(enc *zstd.Encoder, l Level) {
	p := encoders
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held -= encoderMemory(l)
	if l == p.level {
		enc.Reset(nil)
		p.idle = append(p.idle, enc)
	}
	p.cond.Broadcast()
}
