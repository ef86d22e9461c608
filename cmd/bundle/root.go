package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// app carries what every verb needs: the streams, and the bundle attached to this binary when it
// runs as a .run file.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// self is the payload attached to the running binary; nil for the plain bundle tool.
	self *selfextract.Bundle
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	self, err := openSelf()
	switch {
	case err == nil:
		a.self = self
		defer self.Close()
	case errors.Is(err, selfextract.ErrNoPayload):
		if exe, _ := selfextract.Executable(); strings.HasSuffix(exe, ".run") {
			// Named like a bundle but carrying none: the end of the file (its trailer) is missing.
			printError(stderr, fmt.Errorf("%s has no readable payload: the file is truncated or damaged; copy it again and compare it with its .sha256", exe))
			return exitRefused
		}
	default:
		// A .run whose own trailer is damaged: refuse before anything else.
		printError(stderr, fmt.Errorf("%w: this file is damaged or truncated; copy it again and compare it with its .sha256", err))
		return exitRefused
	}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err != nil {
		printError(stderr, err)
	}
	return exitCode(err)
}

// openSelf is a variable so tests can pose as a .run without building one.
var openSelf = selfextract.OpenSelf

func (a *app) rootCommand() *cobra.Command {
	var root *cobra.Command
	if a.self != nil {
		root = a.runRoot()
	} else {
		root = a.toolRoot()
	}
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	markArgErrorsAsUsage(root)
	return root
}

// markArgErrorsAsUsage makes every positional-argument error (wrong count, unknown verb) a usage
// error with exit status 2, whatever validator a verb chose.
func markArgErrorsAsUsage(c *cobra.Command) {
	validate := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		var err error
		if validate != nil {
			err = validate(cmd, args)
		} else if cmd.HasSubCommands() && len(args) > 0 {
			err = fmt.Errorf("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		if err != nil {
			return usageError{err}
		}
		return nil
	}
	for _, sub := range c.Commands() {
		markArgErrorsAsUsage(sub)
	}
}

// toolRoot is the connected-side tool: bundle build, inspect, verify, releases...
func (a *app) toolRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "bundle",
		Short: "Build self-extracting, verifiable Harbor upgrade bundles for air-gapped hosts",
		Long: `bundle builds one self-extracting file that upgrades a Harbor registry on a host with no
network, and checks such files.

On a connected machine:
  $ bundle build v1.10.0            # writes harbor-upgrade-1.10.run and its .sha256
  $ bundle verify harbor-upgrade-1.10.run

On the air-gapped host:
  $ ./harbor-upgrade-1.10.run --help

` + exitStatusHelp,
		Version: version,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, add := range toolVerbs {
		root.AddCommand(add(a))
	}
	return root
}

// runRoot is the upgrader a .run file becomes.
func (a *app) runRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "./" + filepath.Base(a.self.Path),
		Short: "Self-extracting Harbor upgrade bundle",
		Long: `This file carries a Harbor release (images, installer, migrator) and the program that
upgrades a Harbor host to it without any network access.

Commands that only read this file:
  info           what this bundle installs and what it upgrades from
  list           every file in the payload with its size and sha256
  check          verify the whole file (integrity, and signature when a key is given)
  extract DIR    unpack an OCI image layout and the installer files into DIR

` + exitStatusHelp,
		Version: version,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	for _, add := range runVerbs {
		root.AddCommand(add(a))
	}
	if runDefault != nil {
		runDefault(a, root)
	}
	return root
}

// Verb registries: each verb file adds its constructor in an init function, so verbs can be
// written and reviewed one file at a time.
var (
	toolVerbs []func(*app) *cobra.Command
	runVerbs  []func(*app) *cobra.Command
	// runDefault, when set, gives the .run root command its own action (the upgrade).
	runDefault func(*app, *cobra.Command)
)
