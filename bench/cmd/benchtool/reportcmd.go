package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/harborbundle/bundle/bench/report"
)

// reportCmd turns the raw records of one size into bench/results/<date>-<size>.{md,json}.
func reportCmd(_ context.Context, args []string) error {
	fs := newFlags("report")
	var raw, size, mix, packages, command, date, machine, md, js, bundle string
	var runs int
	var sizeBytes int64
	fs.StringVar(&raw, "raw", "", "raw measurements (JSON lines)")
	fs.StringVar(&size, "size", "", "release size to report")
	fs.StringVar(&mix, "mix", report.MixSynthetic, "content mix of the fake release (synthetic, debian)")
	fs.StringVar(&packages, "packages", "", "file listing the Debian packages (name=version) of the debian mix, one a line")
	fs.Int64Var(&sizeBytes, "size-bytes", 0, "the size in bytes (for ordering)")
	fs.StringVar(&command, "command", "make bench", "the command that reproduces the run")
	fs.StringVar(&date, "date", "", "date of the run, RFC 3339")
	fs.IntVar(&runs, "runs", 0, "runs of each figure")
	fs.StringVar(&machine, "machine", "", "machine description JSON (benchtool machine)")
	fs.StringVar(&bundle, "bundle", "", "version of the bundle binary measured")
	fs.StringVar(&md, "md", "", "Markdown output")
	fs.StringVar(&js, "json", "", "JSON output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if raw == "" || size == "" || md == "" || js == "" || machine == "" {
		return errors.New("--raw, --size, --machine, --md and --json are required")
	}
	f, err := os.Open(raw)
	if err != nil {
		return err
	}
	recs, err := report.ReadRecords(f)
	f.Close()
	if err != nil {
		return err
	}
	var mach report.Machine
	b, err := os.ReadFile(machine)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &mach); err != nil {
		return fmt.Errorf("reading %s: %w", machine, err)
	}
	metrics := report.Summarise(recs)[size]
	if len(metrics) == 0 {
		return fmt.Errorf("no measurements for size %s in %s", size, raw)
	}
	rep := report.Build(date, size, mix, sizeBytes, command, runs, mach, metrics, filepath.Base(raw))
	rep.Bundle = bundle
	if packages != "" {
		b, err := os.ReadFile(packages)
		if err != nil {
			return err
		}
		rep.Packages = strings.Fields(string(b))
	}
	if err := writeWith(js, rep.WriteJSON); err != nil {
		return err
	}
	if err := writeWith(md, rep.WriteMarkdown); err != nil {
		return err
	}
	os.Stdout.WriteString(report.GoalTable(rep.Goals))
	return nil
}

// readmeCmd renders the README section from the latest result of each size in --results.
func readmeCmd(_ context.Context, args []string) error {
	fs := newFlags("readme")
	var results, readme string
	fs.StringVar(&results, "results", "bench/results", "results directory")
	fs.StringVar(&readme, "readme", "README.md", "README to update between the bench markers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reps, err := latestReports(results)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	shown := results // as the README names it: relative to the README's directory
	if rel, err := filepath.Rel(absDir(filepath.Dir(readme)), absDir(results)); err == nil {
		shown = rel
	}
	updated, err := report.ReplaceSection(string(old), report.Section(reps, shown))
	if err != nil {
		return err
	}
	tmp := readme + ".tmp"
	if err := os.WriteFile(tmp, []byte(updated), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, readme)
}

// latestReports reads every <date>-<size>[-<mix>].json and keeps the newest per size and mix.
func latestReports(dir string) ([]*report.Report, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	bySize := map[string]*report.Report{}
	for _, n := range names {
		if strings.HasSuffix(n, ".machine.json") {
			continue
		}
		f, err := os.Open(n)
		if err != nil {
			return nil, err
		}
		rep, err := report.ReadReport(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		key := rep.Size + "\x00" + rep.MixName()
		if cur := bySize[key]; cur == nil || rep.Date >= cur.Date {
			bySize[key] = rep
		}
	}
	var out []*report.Report
	for _, r := range bySize {
		out = append(out, r)
	}
	return out, nil
}

func writeWith(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func absDir(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
