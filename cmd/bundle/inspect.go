package main

import (
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
			printInfo(a.stdout, info)
			printBundleHops(a.stdout, info.Manifest)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
