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
	path     bool     // --path FROM TO: the chain between them
}

func newReleasesCmd(a *app) *cobra.Command {
	var opts releasesOptions
	cmd := &cobra.Command{
		Use:   "releases [VERSION]",
		Short: "List the Harbor releases bundle can build, or show one: images, installer, migration",
		Long: `List the Harbor releases bundle knows: for each, the versions it upgrades from, how
harbor.yml is migrated to it, the PostgreSQL step of its harbor-db (9.6 -> 13: it upgrades the
9.6 data, then deletes it), its optional components and those it drops (what an install that
used them loses). Given a VERSION, show that release in full: its images with their
components, the installer download URLs, the migration command, the install.sh flags (and
those it refuses), the docker compose it needs and the data directory of its database.

The catalog is built in; --catalog FILE (repeatable, same YAML format) adds releases or
replaces a release of the same version, e.g. to build from images retagged on a mirror.

Examples:
  $ bundle releases
  $ bundle releases v1.10.0
  $ bundle releases -o json v1.10.0
  $ bundle releases --catalog my-releases.yaml
  $ bundle releases --path 1.10.0 v2.15.2
  $ bundle releases --path 1.10 v2.15.2 -o json    # every 1.10 patch

--path FROM TO shows the chain of releases a multi-hop bundle (bundle build TO --from FROM)
carries: the shortest that follows Harbor's documented upgrade paths and never skips a
PostgreSQL step of harbor-db; among equally short ones the newest patch of each line. FROM may
be a minor line (1.10: every patch of it). Nothing is built or downloaded.

` + exitStatusHelp,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case opts.path && len(args) != 2:
				return usagef("--path takes FROM and TO, e.g. bundle releases --path 1.10.0 v2.15.2")
			case !opts.path && len(args) > 1:
				return usagef("releases takes at most one VERSION (or --path FROM TO)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReleases(a.stdout, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringArrayVar(&opts.catalogs, "catalog", nil, "catalog `FILE` to merge over the built-in one (repeatable)")
	cmd.Flags().BoolVar(&opts.path, "path", false, "show the chain of releases from FROM (a version or a minor line) to TO")
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
	if opts.path {
		return runPath(w, cat, jsonOut, args[0], args[1])
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
	Version              string           `json:"version"`
	Date                 string           `json:"date,omitempty"`
	ConfigVersion        string           `json:"config_version"`
	ShippedConfigVersion string           `json:"shipped_config_version,omitempty"`
	SchemaVersion        int              `json:"schema_version,omitempty"`
	UpgradeFrom          []string         `json:"upgrade_from"`
	Components           []string         `json:"components"`
	Drops                []harbor.Drop    `json:"drops"`
	InstallFlags         []string         `json:"install_flags"`
	RefusedFlags         []string         `json:"refused_flags"`
	Postgres             postgresView     `json:"postgres"`
	Compose              harbor.Compose   `json:"compose"`
	Migration            harbor.Migration `json:"migration"`
	Installer            installerView    `json:"installer"`
	ImagesFrom           string           `json:"images_from,omitempty"`
	Images               []harbor.Image   `json:"images"`
}

// postgresView is the PostgreSQL step of harbor-db with where its data lives.
type postgresView struct {
	harbor.Postgres
	Step           string   `json:"step"`                   // "9.6 -> 13" or "15"
	DataDir        string   `json:"data_dir,omitempty"`     // under data_volume: "database/pg13"
	UpgradeDir     string   `json:"upgrades_dir,omitempty"` // where the data it upgrades lives
	EntrypointArgs []string `json:"entrypoint_args"`        // goharbor/harbor-db ENTRYPOINT after the script
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
	pg := postgresView{Postgres: r.Postgres, Step: r.Postgres.String(), EntrypointArgs: nonNil(r.DBEntrypointArgs)}
	if r.Postgres.Known() {
		pg.DataDir = harbor.DataDir(r.Postgres.Major)
	}
	if r.Postgres.UpgradesFrom != "" {
		pg.UpgradeDir = harbor.DataDir(r.Postgres.UpgradesFrom)
	}
	drops := r.Drops
	if drops == nil {
		drops = []harbor.Drop{}
	}
	return releaseView{
		Version: r.Version, Date: r.Date, ConfigVersion: r.ConfigVersion, ShippedConfigVersion: r.ShippedConfigVersion,
		SchemaVersion: r.SchemaVersion, UpgradeFrom: nonNil(r.UpgradeFrom), Components: nonNil(r.Components()),
		Drops: drops, InstallFlags: nonNil(r.InstallFlags), RefusedFlags: nonNil(r.RefusedFlags),
		Postgres: pg, Compose: r.Compose, Migration: r.Migration, ImagesFrom: r.ImagesFrom, Images: r.Images,
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
	fmt.Fprintf(tw, "VERSION\tUPGRADES FROM\tMIGRATION\tPOSTGRESQL\tCOMPONENTS\tDROPS\n")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Version, orDash(strings.Join(r.UpgradeFrom, ", ")),
			r.Migration.Method, r.Postgres, orDash(strings.Join(r.Components(), ", ")), orDash(strings.Join(dropNames(r), ", ")))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d releases. Older patches of the same line are always accepted. POSTGRESQL: the major its\n"+
		"harbor-db runs, after the one it upgrades (9.6 -> 13); it never skips one. Details: bundle releases VERSION\n", len(rs))
}

func dropNames(r *harbor.Release) []string {
	var out []string
	for _, d := range r.Drops {
		out = append(out, d.Component)
	}
	return out
}

// postgresLine says what harbor-db does with the data it finds under data_volume.
func postgresLine(r *harbor.Release) string {
	p := r.Postgres
	if !p.Known() {
		return "unknown"
	}
	args := "no arguments"
	if len(r.DBEntrypointArgs) > 0 {
		args = fmt.Sprintf("%q", r.DBEntrypointArgs)
	}
	if p.UpgradesFrom == "" {
		return fmt.Sprintf("%s in %s; upgrades no older major (harbor-db %s)", p.Major, harbor.DataDir(p.Major), args)
	}
	return fmt.Sprintf("%s in %s; upgrades %s data in %s, then deletes it (harbor-db %s)",
		p.Major, harbor.DataDir(p.Major), p.UpgradesFrom, harbor.DataDir(p.UpgradesFrom), args)
}

func printRelease(w io.Writer, r *harbor.Release) {
	in := r.Installer
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Harbor release:\t%s\n", r.Version)
	fmt.Fprintf(tw, "Upgrades from:\t%s (and older %s patches)\n", orDash(strings.Join(r.UpgradeFrom, ", ")), "v"+r.Semver().Line())
	if r.Date != "" {
		fmt.Fprintf(tw, "Released:\t%s\n", r.Date)
	}
	cfg := r.ConfigVersion
	if r.ShippedConfigVersion != "" {
		cfg += fmt.Sprintf(" (its installer's template says %s)", r.ShippedConfigVersion)
	}
	fmt.Fprintf(tw, "harbor.yml _version:\t%s\n", cfg)
	if r.SchemaVersion > 0 {
		fmt.Fprintf(tw, "Database schema:\t%d\n", r.SchemaVersion)
	}
	fmt.Fprintf(tw, "PostgreSQL:\t%s\n", postgresLine(r))
	fmt.Fprintf(tw, "Migration:\t%s (%s %s)\n", r.Migration.Method, r.Migration.Image, strings.Join(r.Migration.Args, " "))
	fmt.Fprintf(tw, "Components:\t%s\n", orDash(strings.Join(r.Components(), ", ")))
	for _, d := range r.Drops {
		fmt.Fprintf(tw, "Drops %s:\t%s\n", d.Component, d.Lost)
	}
	fmt.Fprintf(tw, "install.sh flags:\t%s\n", orDash(strings.Join(r.InstallFlags, " ")))
	if len(r.RefusedFlags) > 0 {
		fmt.Fprintf(tw, "Refused flags:\t%s (install.sh exits 1)\n", strings.Join(r.RefusedFlags, " "))
	}
	fmt.Fprintf(tw, "Compose:\t%s\n", composeLine(r.Compose))
	fmt.Fprintf(tw, "Online installer:\t%s\n", in.OnlineURL)
	fmt.Fprintf(tw, "Offline installer:\t%s\n", in.OfflineURL)
	fmt.Fprintf(tw, "Signatures:\t<installer URL>.asc\n")
	fmt.Fprintf(tw, "Installer files:\t%s\n", strings.Join(in.Files, " "))
	tw.Flush()
	from := ""
	switch r.ImagesFrom {
	case "":
	case "makefile":
		from = ", from its Makefile"
	case "record":
		from = ", from the release record"
	default:
		from = ", " + r.ImagesFrom
	}
	fmt.Fprintf(w, "\nImages (%d%s):\n", len(r.Images), from)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  COMPONENT\tREFERENCE\n")
	for _, img := range r.Images {
		fmt.Fprintf(tw, "  %s\t%s\n", img.Component, img.Ref())
	}
	tw.Flush()
}

func composeLine(c harbor.Compose) string {
	min := c.StandaloneMin
	if min == "" {
		min = "(version unknown)"
	} else {
		min = ">= " + min
	}
	if c.Plugin {
		return "the docker compose plugin when `docker compose version` works, else docker-compose " + min
	}
	return "docker-compose " + min + " (install.sh does not use the docker compose plugin)"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
