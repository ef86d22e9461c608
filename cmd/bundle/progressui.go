package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/harborbundle/bundle/progress"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// reporter returns how progress is drawn for this invocation: nothing when quiet, a bar on stderr
// when stderr is a terminal, otherwise a plain line every few seconds (logs and CI stay readable).
func (a *app) reporter(quiet bool) progress.Reporter {
	if quiet {
		return progress.Discard
	}
	if isTerminal(a.stderr) {
		return newBarReporter(a.stderr)
	}
	return newLineReporter(a.stderr, 5*time.Second)
}

// isTerminal asks the terminal driver, not the file mode: /dev/null is a character device too.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// tally keeps the totals of all tasks; both reporters draw from it.
type tally struct {
	mu          sync.Mutex
	total, done int64
	active      map[string]bool
	last        string
}

func (t *tally) start(task string, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active == nil {
		t.active = map[string]bool{}
	}
	t.active[task] = true
	t.last = task
	if total > 0 {
		t.total += total
	}
}

// barReporter draws one bar for the sum of all running tasks; its description names the most
// recently started task. progressbar draws one line, so parallel tasks share it.
type barReporter struct {
	tally
	w   io.Writer
	bar *progressbar.ProgressBar
}

func newBarReporter(w io.Writer) *barReporter { return &barReporter{w: w} }

func (r *barReporter) Start(task string, total int64) {
	r.start(task, total)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar == nil {
		r.bar = progressbar.NewOptions64(r.total,
			progressbar.OptionSetWriter(r.w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	} else {
		r.bar.ChangeMax64(r.total)
	}
	r.bar.Describe(shorten(task, 40))
}

func (r *barReporter) Add(task string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if r.bar != nil {
		r.bar.Add64(n)
	}
}

func (r *barReporter) Done(task string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, task)
	if len(r.active) == 0 && r.bar != nil {
		r.bar.Finish()
		r.bar = nil
		r.total, r.done = 0, 0
		fmt.Fprintln(r.w)
	}
	if err != nil {
		fmt.Fprintf(r.w, "%s: %v\n", task, err)
	}
}

// lineReporter prints a status line at most every interval.
type lineReporter struct {
	tally
	w        io.Writer
	interval time.Duration
	began    time.Time
	next     time.Time
}

func newLineReporter(w io.Writer, interval time.Duration) *lineReporter {
	return &lineReporter{w: w, interval: interval}
}

func (r *lineReporter) Start(task string, total int64) {
	r.start(task, total)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.began.IsZero() {
		r.began = time.Now()
		r.next = r.began.Add(r.interval)
	}
}

func (r *lineReporter) Add(task string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if now := time.Now(); now.After(r.next) {
		r.next = now.Add(r.interval)
		rate := float64(r.done) / now.Sub(r.began).Seconds()
		if r.total > 0 {
			fmt.Fprintf(r.w, "%s: %s / %s (%d%%), %s/s\n", r.last, progress.HumanBytes(r.done), progress.HumanBytes(r.total), r.done*100/r.total, progress.HumanBytes(int64(rate)))
		} else {
			fmt.Fprintf(r.w, "%s: %s, %s/s\n", r.last, progress.HumanBytes(r.done), progress.HumanBytes(int64(rate)))
		}
	}
}

func (r *lineReporter) Done(task string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, task)
	if len(r.active) == 0 {
		r.total, r.done, r.began = 0, 0, time.Time{}
	}
	if err != nil {
		fmt.Fprintf(r.w, "%s: %v\n", task, err)
	}
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n+3:]
}
