package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harborbundle/bundle/bench/report"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
)

func readRaw(t *testing.T, path string) []report.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := report.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestMeasureRecordsExitWallRSSAndDiskGrowth(t *testing.T) {
	dir := t.TempDir()
	raw, watched := filepath.Join(dir, "raw.jsonl"), filepath.Join(dir, "w")
	if err := os.Mkdir(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	// 8 MiB written then removed: the peak must see it although the end state is empty.
	script := "head -c 8388608 /dev/zero > " + watched + "/f && sync && sleep 0.6 && rm " + watched + "/f && exit 3"
	code := run(context.Background(), []string{"measure", "--raw", raw, "--size", "s", "--name", "n", "--run", "2", "--disk", watched, "--", "sh", "-c", script})
	if code != 3 {
		t.Fatalf("exit code = %d, want the command's 3", code)
	}
	recs := readRaw(t, raw)
	if len(recs) != 1 {
		t.Fatalf("records = %d, want 1", len(recs))
	}
	r := recs[0]
	if r.Exit != 3 || r.Run != 2 || r.WallSeconds < 0.5 || r.PeakRSSKiB <= 0 {
		t.Fatalf("record = %+v", r)
	}
	if r.DiskBytes == nil || *r.DiskBytes < 8<<20 {
		t.Fatalf("disk peak = %v, want >= 8 MiB", r.DiskBytes)
	}
}

func TestValueNeedsANumberAndAUnit(t *testing.T) {
	raw := filepath.Join(t.TempDir(), "raw.jsonl")
	if code := run(context.Background(), []string{"value", "--raw", raw, "--size", "s", "--name", "n", "--unit", "bytes", "12x"}); code == 0 {
		t.Fatal("a non-number was accepted")
	}
	if code := run(context.Background(), []string{"value", "--raw", raw, "--size", "s", "--name", "n", "0"}); code == 0 {
		t.Fatal("a value without unit was accepted")
	}
	if code := run(context.Background(), []string{"value", "--raw", raw, "--size", "s", "--name", "n", "--unit", "blobs", "0"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if recs := readRaw(t, raw); len(recs) != 1 || recs[0].Unit != "blobs" || recs[0].Value != 0 {
		t.Fatalf("records = %+v", recs)
	}
}

// The test .run must be a bundle that verify reads through: every entry hashed, none skipped.
func TestBigrunWritesAVerifiableRun(t *testing.T) {
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\necho stub\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "big.run")
	if code := run(context.Background(), []string{"bigrun", "--stub", stub, "--bytes", "130MiB", "-o", out}); code != 0 {
		t.Fatalf("bigrun exit %d", code)
	}
	b, err := selfextract.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := b.OpenPayload()
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	var data int64
	for _, e := range pr.Manifest().Entries {
		if strings.HasPrefix(e.Path, "installer/data/") {
			data += e.Size
		}
	}
	if data != 130<<20 {
		t.Fatalf("data entries hold %d bytes, want 130 MiB", data)
	}
	if _, err := selfextract.Verify(context.Background(), []string{out}, selfextract.VerifyOptions{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// One flipped byte in the middle of the data must be found.
	f, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := int64(len("#!/bin/sh\necho stub\n")) + 70<<20
	one := make([]byte, 1)
	if _, err := f.ReadAt(one, at); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^one[0]}, at); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = selfextract.Verify(context.Background(), []string{out}, selfextract.VerifyOptions{})
	var integrity *payload.IntegrityError
	if !errors.As(err, &integrity) || !strings.Contains(err.Error(), "installer/data/") {
		t.Fatalf("verify of a damaged .run = %v, want an integrity error naming the entry", err)
	}
}
