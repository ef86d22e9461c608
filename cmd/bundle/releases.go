package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/harborbundle/bundle/harbor"
	"github.com/spf13/cobra"
)

func init() { toolVerbs = append(toolVerbs, newReleasesCmd) }

// releasesOptions are the flags of `bundle releases`.
type releasesOptions struct {
	output   string   // text or json
	catalogs []string // --catalog files merged over the built-in catalog, in order
}

func newReleasesCmd(a *app) *cobra.Command {
	var opts releasesOptions
	cmd := &cobra.Command{
		Use:   "releases [VERSION]",
		Short: "List the Harbor releases bundle can build, or show one: images, installer, migration",
		Long: `List the Harbor releases bundle knows: for each, the versions it upgrades from, how
harbor.yml is migrated to it and its optional components. Given a VERSION, show that release
in full: its images with their components, the installer download URLs, the migration
command and the install.sh flags.

The catalog is built in; --catalog FILE (repeatable, same YAML format) adds releases or
replaces a release of the same version, e.g. to build from images retagged on a mirror.

Examples:
  $ bundle releases
  $ bundle releases v1.10.0
  $ bundle releases -o json v1.10.0
  $ bundle releases --catalog my-releases.yaml

` + exitStatusHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReleases(a.stdout, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringArrayVar(&opts.catalogs, "catalog", nil, "catalog `FILE` to merge over the built-in one (repeatable)")
	return cmd
}

func runReleases(w io.Writer, opts releasesOptions, args []string) error {
	jsonOut, err := outputFlag(opts.output)
	if err != nil {
		return err
	}
	cat, err := harbor.LoadCatalog(opts.catalogs...)
	if err != nil {
		return refused(err)
	}
	if len(args) == 0 {
		if jsonOut {
			var views []releaseView
			for _, r := range cat.Releases() {
				views = append(views, viewOf(r))
			}
			return writeJSON(w, views)
		}
		printReleases(w, cat.Releases())
		return nil
	}
	r, err := cat.Get(args[0])
	if err != nil {
		return err
	}
	if jsonOut {
		return writeJSON(w, viewOf(r))
	}
	printRelease(w, r)
	return nil
}

// releaseView is the JSON form of a release: the catalog entry plus what is derived from it.
type releaseView struct {
	Version       string           `json:"version"`
	ConfigVersion string           `json:"config_version"`
	SchemaVersion int              `json:"schema_version,omitempty"`
	UpgradeFrom   []string         `json:"upgrade_from"`
	Components    []string         `json:"components"`
	InstallFlags  []string         `json:"install_flags"`
	Migration     harbor.Migration `json:"migration"`
	Installer     installerView    `json:"installer"`
	Images        []harbor.Image   `json:"images"`
}

type installerView struct {
	OnlineURL        string   `json:"online_url"`
	OnlineSignature  string   `json:"online_signature_url"`
	OfflineURL       string   `json:"offline_url"`
	OfflineSignature string   `json:"offline_signature_url"`
	Files            []string `json:"files"`
}

func viewOf(r *harbor.Release) releaseView {
	in := r.Installer
	return releaseView{
		Version: r.Version, ConfigVersion: r.ConfigVersion, SchemaVersion: r.SchemaVersion,
		UpgradeFrom: nonNil(r.UpgradeFrom), Components: nonNil(r.Components()), InstallFlags: nonNil(r.InstallFlags),
		Migration: r.Migration, Images: r.Images,
		Installer: installerView{OnlineURL: in.OnlineURL, OnlineSignature: in.OnlineSignatureURL(),
			OfflineURL: in.OfflineURL, OfflineSignature: in.OfflineSignatureURL(), Files: in.Files},
	}
}

// nonNil makes empty lists print as [] rather than null in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func printReleases(w io.Writer, rs []*harbor.Release) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tUPGRADES FROM\tMIGRATION\tCOMPONENTS\n")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Version, orDash(strings.Join(r.UpgradeFrom, ", ")),
			r.Migration.Method, orDash(strings.Join(r.Components(), ", ")))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d releases. Older patches of the same line are always accepted. Details: bundle releases VERSION\n", len(rs))
}

func printRelease(w io.Writer, r *harbor.Release) {
	in := r.Installer
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Harbor release:\t%s\n", r.Version)
	fmt.Fprintf(tw, "Upgrades from:\t%s (and older %s patches)\n", orDash(strings.Join(r.UpgradeFrom, ", ")), "v"+r.Semver().Line())
	fmt.Fprintf(tw, "harbor.yml _version:\t%s\n", r.ConfigVersion)
	if r.SchemaVersion > 0 {
		fmt.Fprintf(tw, "Database schema:\t%d\n", r.SchemaVersion)
	}
	fmt.Fprintf(tw, "Migration:\t%s (%s %s)\n", r.Migration.Method, r.Migration.Image, strings.Join(r.Migration.Args, " "))
	fmt.Fprintf(tw, "Components:\t%s\n", orDash(strings.Join(r.Components(), ", ")))
	fmt.Fprintf(tw, "install.sh flags:\t%s\n", orDash(strings.Join(r.InstallFlags, " ")))
	fmt.Fprintf(tw, "Online installer:\t%s\n", in.OnlineURL)
	fmt.Fprintf(tw, "Offline installer:\t%s\n", in.OfflineURL)
	fmt.Fprintf(tw, "Signatures:\t<installer URL>.asc\n")
	fmt.Fprintf(tw, "Installer files:\t%s\n", strings.Join(in.Files, " "))
	tw.Flush()
	fmt.Fprintf(w, "\nImages (%d):\n", len(r.Images))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  COMPONENT\tREFERENCE\n")
	for _, img := range r.Images {
		fmt.Fprintf(tw, "  %s\t%s\n", img.Component, img.Ref())
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
