package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/progress"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/spf13/cobra"
)

func init() { toolVerbs = append(toolVerbs, newInspectCmd) }

func newInspectCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "inspect FILE [PART...]",
		Short: "Show what a bundle installs: release, upgrade paths, images, files, build and signature",
		Long: `Show what a bundle installs without reading all of it: the Harbor release, the versions it
upgrades from, its images with their digests and sizes, the installer files, how and when it
was built, and whether it is signed. Only the manifest is read (its sha256 is checked against
the trailer); use verify to check every byte.

A multi-hop bundle (bundle build --from) also lists its hops in order, with what each brings
(migration, PostgreSQL step, components, images, a rough time on the host), and the chain
from each version it upgrades from.

A bundle carrying Trivy's DBs (bundle build --with-trivy-db) lists each: kind, where it was
pulled from, its layer's digest and size, and its UpdatedAt and NextUpdate; a DB-only bundle
(--trivy-db-only) shows only those.

A split bundle is inspected by naming all its parts.

Examples:
  $ bundle inspect harbor-upgrade-1.10.run
  $ bundle inspect -o json harbor-upgrade-1.10.run.0*

` + exitStatusHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			info, err := selfextract.Inspect(args)
			if err != nil {
				return refused(err)
			}
			if jsonOut {
				return writeJSON(a.stdout, info)
			}
			if info.Manifest.Kind == payload.KindTrivyDBRefresh {
				printRefreshInfo(a.stdout, info)
			} else {
				printInfo(a.stdout, info)
				printBundleHops(a.stdout, info.Manifest)
			}
			printScanDBs(a.stdout, info.Manifest.ScanDBs)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// printRefreshInfo is printInfo for a DB-only bundle: no release, images or installer.
func printRefreshInfo(w io.Writer, info *selfextract.Info) {
	m := info.Manifest
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "File:\t%s\n", info.File)
	fmt.Fprintf(tw, "Size:\t%s (%d bytes)\n", progress.HumanBytes(info.Size), info.Size)
	fmt.Fprintf(tw, "Kind:\t%s (refreshes the Trivy DBs of a running Harbor, its version unchanged)\n", m.Kind)
	fmt.Fprintf(tw, "Built:\t%s by bundle %s\n", m.Builder.BuildTime.UTC().Format("2006-01-02 15:04:05 UTC"), m.Builder.Version)
	sig := "unsigned"
	if info.Signed {
		sig = "signed (check it with: bundle verify --key KEY.pub)"
	}
	fmt.Fprintf(tw, "Signature:\t%s\n", sig)
	fmt.Fprintf(tw, "Manifest sha256:\t%s\n", info.ManifestSHA256)
	tw.Flush()
}

// printScanDBs lists the carried Trivy DBs, if any.
func printScanDBs(w io.Writer, dbs []payload.ScanDB) {
	if len(dbs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nTrivy DBs (%d):\n", len(dbs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  KIND\tUPDATED AT\tNEXT UPDATE\tSIZE\tDIGEST\tREF\n")
	for _, d := range dbs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", d.Kind, d.Metadata.UpdatedAt, d.Metadata.NextUpdate, progress.HumanBytes(d.Size), d.Digest, d.Ref)
	}
	tw.Flush()
}

// scanDBLine is one carried DB on one line, for the build summary.
func scanDBLine(d payload.ScanDB) string {
	return fmt.Sprintf("%s updated %s (next update %s), %s, %s from %s", d.Kind, d.Metadata.UpdatedAt, d.Metadata.NextUpdate, progress.HumanBytes(d.Size), shortDigest(d.Digest), d.Ref)
}
