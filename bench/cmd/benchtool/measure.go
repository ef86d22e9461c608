package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/harborbundle/bundle/bench/report"
)

// measureCmd runs a command with stdio passed through and appends one record. It returns the
// command's exit code, so the script decides whether a failed peer stops the run.
func measureCmd(ctx context.Context, args []string) (int, error) {
	fs := newFlags("measure")
	var rf recordFlags
	var disks multiFlag
	rf.bind(fs)
	fs.Var(&disks, "disk", "directory whose peak growth is recorded (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if err := rf.check(); err != nil {
		return 0, err
	}
	if fs.NArg() == 0 {
		return 0, errors.New("no command after --")
	}
	rec := report.Record{Size: rf.size, Name: rf.name, Run: rf.run}
	watch := newDiskWatch(disks)
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		watch.stop()
		return 0, fmt.Errorf("starting %s: %w", fs.Arg(0), err)
	}
	hwm := watchHWM(cmd.Process.Pid)
	err := cmd.Wait()
	rec.WallSeconds = time.Since(start).Seconds()
	rec.SelfRSSKiB = hwm()
	peak := watch.stop()
	if len(disks) > 0 {
		rec.DiskBytes = &peak
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		rec.Exit = exitErr.ExitCode()
		if rec.Exit < 0 {
			rec.Exit = 128 // killed by a signal
		}
	case err != nil:
		return 0, fmt.Errorf("running %s: %w", fs.Arg(0), err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rec.PeakRSSKiB = ru.Maxrss // KiB on Linux; the max over the waited-for process tree
	}
	if err := appendRecord(rf.raw, rec); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "bench: %s %s run %d: %.2fs, %d MiB peak RSS", rf.size, rf.name, rf.run, rec.WallSeconds, rec.PeakRSSKiB>>10)
	if rec.DiskBytes != nil {
		fmt.Fprintf(os.Stderr, ", %.1f MiB extra disk", float64(*rec.DiskBytes)/(1<<20))
	}
	fmt.Fprintf(os.Stderr, ", exit %d\n", rec.Exit)
	return rec.Exit, nil
}

func valueCmd(_ context.Context, args []string) error {
	fs := newFlags("value")
	var rf recordFlags
	var unit string
	rf.bind(fs)
	fs.StringVar(&unit, "unit", "", "unit of the value (bytes, s, blobs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if fs.NArg() != 1 || unit == "" {
		return errors.New("want --unit U and one VALUE")
	}
	v, err := strconv.ParseFloat(fs.Arg(0), 64)
	if err != nil {
		return fmt.Errorf("value %q is not a number", fs.Arg(0))
	}
	return appendRecord(rf.raw, report.Record{Size: rf.size, Name: rf.name, Run: rf.run, Value: v, Unit: unit})
}

func appendRecord(path string, rec report.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening raw file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing raw file: %w", err)
	}
	return f.Close()
}

// watchHWM samples the process's own VmHWM (its peak RSS, without children) every 50 ms until
// the returned function is called after the process ended; VmHWM only grows, so the last sample
// before exit is the peak, give or take what it allocated in its last 50 ms.
func watchHWM(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(pid); v > 0 {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// diskWatch samples the allocated size of some directory trees every 200 ms and keeps the peak
// growth over the first sample.
type diskWatch struct {
	dirs     []string
	base     int64
	peak     int64
	done     chan struct{}
	finished sync.WaitGroup
}

func newDiskWatch(dirs []string) *diskWatch {
	w := &diskWatch{dirs: dirs, done: make(chan struct{})}
	if len(dirs) == 0 {
		return w
	}
	w.base = w.usage()
	w.finished.Add(1)
	go func() {
		defer w.finished.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *diskWatch) sample() {
	if d := w.usage() - w.base; d > w.peak {
		w.peak = d
	}
}

func (w *diskWatch) stop() int64 {
	if len(w.dirs) == 0 {
		return 0
	}
	close(w.done)
	w.finished.Wait()
	w.sample()
	return w.peak
}

// usage is the allocated bytes (st_blocks) of every file under the dirs, each inode once.
func (w *diskWatch) usage() int64 {
	seen := map[uint64]bool{}
	var total int64
	for _, d := range w.dirs {
		filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil // files come and go while we walk: skip what vanished
			}
			info, err := e.Info()
			if err != nil {
				return nil
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && !seen[st.Ino] {
				seen[st.Ino] = true
				total += st.Blocks * 512
			}
			return nil
		})
	}
	return total
}
