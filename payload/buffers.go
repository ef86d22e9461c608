package payload

import "sync"

// copyBufferSize is the buffer every streaming copy uses: large enough that a copy costs few
// calls, small enough that one per worker is nothing next to an encoder.
const copyBufferSize = 256 << 10

// buffers recycles copy buffers, so that streaming a layer allocates nothing per layer (garbage
// is what makes a Go heap, and so the RSS, grow past its live data).
var buffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

func getBuffer() *[]byte  { return buffers.Get().(*[]byte) }
func putBuffer(b *[]byte) { buffers.Put(b) }
