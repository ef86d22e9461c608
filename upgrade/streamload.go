package upgrade

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// loadPipeSize is the kernel buffer between the bundle's docker-archive writer and `docker
// load`: 1 MiB lets zstd decompression run ahead of docker's reads instead of taking turns with
// them through the default 64 KiB (one make bench at 1 GiB on an AMD EPYC guest, with the
// stream's reused zstd decoder: images loaded 1.29x -> 1.03x the floor; later runs on 2 cores
// measured 1.2-1.4x, see upgrade/BENCHMARKS.md).
const loadPipeSize = 1 << 20

// streamLoad streams refs from the bundle into `docker load` through an OS pipe whose read end
// is docker's stdin itself (no copying goroutine in between), each byte also to seen (progress)
// when it is not nil.
//
// When the archive fails (a blob whose sha256 does not match is only found at its end, after
// its bytes went into the pipe), docker load is killed while the pipe is still open, so it never
// sees an end of input that could pass for a complete archive: nothing of a damaged bundle is
// loaded.
func streamLoad(ctx context.Context, src Source, eng Engine, refs []string, seen io.Writer) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("reading the images from the bundle: %w", err)
	}
	// A smaller pipe only costs speed: the size is a hint the kernel may cap.
	unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, loadPipeSize) //nolint:errcheck

	loadCtx, killLoad := context.WithCancel(ctx)
	defer killLoad()
	archErr := make(chan error, 1)
	go func() {
		var w io.Writer = pw
		if seen != nil {
			w = io.MultiWriter(pw, seen)
		}
		// Large writes: the archive's many small tar writes would otherwise cost a system call each.
		bw := bufio.NewWriterSize(w, 1<<20)
		err := src.DockerArchive(ctx, bw, refs)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			killLoad() // before docker can read an end of input: pw stays open until it is gone
		} else {
			pw.Close()
		}
		archErr <- err
	}()
	loadErr := eng.Load(loadCtx, pr)
	pr.Close() // a writer still going (docker load failed first) gets EPIPE instead of blocking
	aerr := <-archErr
	pw.Close() // after a failed archive: docker is gone now
	if aerr != nil && !dockerGone(aerr) {
		return fmt.Errorf("reading the images from the bundle: %w", aerr) // the cause, not docker's kill
	}
	return loadErr
}

// LoadImages loads refs (nil: every image) from src into eng exactly as the upgrade's load step
// does, without progress: benchtool load times it for make bench.
func LoadImages(ctx context.Context, src Source, eng Engine, refs []string) error {
	return streamLoad(ctx, src, eng, refs, nil)
}

// dockerGone tells the writer's error that only says docker load went away first (the pipe's
// read end closed): its own error is the one to report.
func dockerGone(err error) bool { return errors.Is(err, unix.EPIPE) }
