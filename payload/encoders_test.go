package payload

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"
)

// TestEncoderPoolBudget: however many goroutines compress at once, the encoders alive (handed
// out or idle) never hold more than EncoderBudget, so --level max has one encoder at a time;
// and a level switch lets the other level's idle encoders go.
func TestEncoderPoolBudget(t *testing.T) {
	for _, level := range []Level{LevelMax, LevelDefault, LevelBetter, LevelFastest} {
		var busy, most atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					enc, err := getEncoder(io.Discard, level)
					if err != nil {
						t.Error(err)
						return
					}
					n := busy.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					encoders.mu.Lock()
					held := encoders.held + int64(len(encoders.idle))*encoderMemory(encoders.level)
					encoders.mu.Unlock()
					if held > EncoderBudget {
						t.Errorf("%s: encoders hold %d bytes, over the budget of %d", level, held, EncoderBudget)
					}
					enc.Write(make([]byte, 64<<10))
					enc.Close()
					busy.Add(-1)
					putEncoder(enc, level)
				}
			}()
		}
		wg.Wait()
		limit := EncoderBudget / encoderMemory(level)
		if most.Load() > limit || (level == LevelMax && most.Load() != 1) {
			t.Errorf("%s: %d encoders at once, the budget allows %d", level, most.Load(), limit)
		}
		if n := int64(len(encoders.idle)); encoders.level != level || n > limit {
			t.Errorf("%s: %d idle encoders of level %s after the run", level, n, encoders.level)
		}
	}
}
