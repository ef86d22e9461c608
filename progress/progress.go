// Package progress is how library packages (builder, payload, selfextract, upgrade) report
// long-running work without knowing how it is drawn. cmd/bundle turns a Reporter into
// progress bars on a terminal and into periodic plain lines elsewhere; tests and callers that do
// not care pass Discard. Libraries never import cobra or progressbar.
package progress

import "fmt"

// Reporter receives byte-counted progress for named tasks ("load images", an image reference,
// "backup database", ...). Implementations must be safe for concurrent use: several tasks may run
// in parallel.
type Reporter interface {
	// Start announces a task and its total size in bytes (0 or negative when unknown).
	Start(task string, total int64)
	// Add reports n more bytes done for task.
	Add(task string, n int64)
	// Done marks task finished; err is nil on success.
	Done(task string, err error)
}

// Discard is a Reporter that drops everything.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Start(string, int64) {}
func (discard) Add(string, int64)   {}
func (discard) Done(string, error)  {}

// Or returns r, or Discard when r is nil, so that options structs can leave it unset.
func Or(r Reporter) Reporter {
	if r == nil {
		return Discard
	}
	return r
}

// Writer counts the bytes written through it as progress on one task; wrap an io.Writer or
// pass it to io.TeeReader.
type Writer struct {
	R    Reporter
	Task string
}

func (w Writer) Write(p []byte) (int, error) {
	w.R.Add(w.Task, int64(len(p)))
	return len(p), nil
}

// HumanBytes formats n in binary units, as df -h and docker do: "12.3 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
