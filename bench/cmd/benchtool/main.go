package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

var errUsage = errors.New("usage: benchtool measure|value|bigrun|dockerarchive|load|machine|report|readme ... (see doc.go)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, errUsage)
		return 2
	}
	verbs := map[string]func(context.Context, []string) error{
		"value": valueCmd, "bigrun": bigrunCmd, "dockerarchive": dockerArchiveCmd, "load": loadCmd,
		"machine": machineCmd, "report": reportCmd, "readme": readmeCmd,
	}
	if args[0] == "measure" {
		code, err := measureCmd(ctx, args[1:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtool measure:", err)
			return 2
		}
		return code
	}
	verb, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintln(os.Stderr, errUsage)
		return 2
	}
	if err := verb(ctx, args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// recordFlags are the flags naming where a measurement goes.
type recordFlags struct {
	raw, size, name string
	run             int
}

func (r *recordFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&r.raw, "raw", "", "raw measurements file (JSON lines) to append to")
	fs.StringVar(&r.size, "size", "", "release size the measurement belongs to")
	fs.StringVar(&r.name, "name", "", "measurement name")
	fs.IntVar(&r.run, "run", 1, "run number")
}

func (r *recordFlags) check() error {
	if r.raw == "" || r.size == "" || r.name == "" {
		return errors.New("--raw, --size and --name are required")
	}
	return nil
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
