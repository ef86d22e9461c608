package main

import (
	"errors"
	"fmt"
	"github.com/harborbundle/bundle/progress"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/harborbundle/bundle/builder"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
	"github.com/harborbundle/bundle/sign"
	"github.com/spf13/cobra"
)

func init() { toolVerbs = append(toolVerbs, newBuildCmd) }

// buildFlags are the flags of `bundle build`; parse turns them into builder.Options.
type buildFlags struct {
	output           []string // -o: a file, or the summary format (text, json); repeatable
	force            bool
	registry         string
	insecureRegistry bool
	platform         string
	installer        string
	from             []string
	installerBase    string
	installerSHA256  string
	installerKeyring string
	components       []string
	catalogs         []string
	cache            string
	jobs             int
	compression      string
	level            string
	split            string
	stub             string
	signKey          string
	quiet            bool
	// Trivy's vulnerability DBs (issue 16): carried with the release, or alone.
	withTrivyDB, withTrivyJavaDB             bool
	trivyDBRepository, trivyJavaDBRepository string
	trivyDBOnly                              bool
}

func newBuildCmd(a *app) *cobra.Command { return buildCommand(a, &buildFlags{}) }

// buildCommand is the build verb with its flags bound to f (tests read f after parsing).
func buildCommand(a *app, f *buildFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build VERSION | build --trivy-db-only",
		Short: "Build the self-extracting upgrade bundle of a Harbor release",
		Long: `Build harbor-upgrade-MAJOR.MINOR.run: this program with a payload attached that carries
the Harbor release's images (pulled from the registry), the migrator image and the installer
files (install.sh, prepare, common.sh, harbor.yml, LICENSE; never the offline installer's
image tarball). Next to it, NAME.run.sha256. Copy both to the air-gapped host and run the
.run there.

Blobs are kept in a content-addressed cache (--cache): an interrupted build resumes where it
stopped, a rebuild downloads nothing it already has, and a damaged cache file is detected and
fetched again. Nothing is written until every image is found at the registry, an existing
output is never replaced without --force, and no partial file ever carries the output's name.

Layers are recompressed with zstd by default (smaller than gzip, faster to load); --level max
makes the smallest file, --compression keep stores them as pulled. With SOURCE_DATE_EPOCH set,
the same inputs give a byte-identical file.

-o takes a file name, or the format of the summary printed on stdout: text (default) or json.
Give both with two -o; a file literally named json is ./json.

Credentials for --registry come from the docker config (docker login), as docker uses them.

--installer-sha256 pins the installer archive. When the installer has a .asc signature (URL
+ ".asc", or FILE.asc next to it) and gpg is installed, --installer-keyring checks it; the
result is recorded in the manifest (bundle inspect shows it) and a bad signature refuses.

--from VERSION (repeatable; a minor line like 1.10 means every patch of it) makes a multi-hop
bundle when the release does not accept that version directly: the shortest chain of releases
that follows Harbor's documented upgrade paths and never skips a PostgreSQL step of harbor-db
(bundle releases --path FROM TO shows it), every hop's images and installer files in one .run
(layers shared between hops stored once), named harbor-upgrade-FROM-to-TO.run by default. Each
hop's installer is its release's URL, on --installer-base when set (--installer names one
archive and is refused then).

--with-trivy-db carries Trivy's vulnerability DB (--with-trivy-java-db the Java DB too) for
an air-gapped Harbor's scanner: pulled from ghcr.io/aquasecurity/trivy-db:2 (trivy-java-db:1)
or --trivy-db-repository REF (a mirror; http:// for plain HTTP), checked to be what Trivy
publishes, stored as pulled; the upgrade installs it. --trivy-db-only (no VERSION) writes a
small harbor-trivy-db-YYYYMMDD.run (the DB's day) that refreshes the DB of a running Harbor.

--sign-key signs the bundle: the .run carries a signature of its manifest (checked by bundle
verify --key and by the .run itself against a trusted key), and NAME.run.minisig signs the
whole file for minisign -Vm NAME.run -p KEY.pub.

Examples:
  $ bundle build v1.10.0
  $ bundle build v1.10.0 --components none --level max -o /media/usb/harbor-1.10.run
  $ bundle build v1.10.0 --registry mirror.example.com:5000 --installer ./harbor-offline-installer-v1.10.0.tgz
  $ bundle build v1.10.0 --split 4G -o json
  $ bundle build v1.10.0 --sign-key ~/.bundle/harbor.key
  $ bundle build v2.15.2 --from 1.10 --from 2.2.4   # one .run for every hop from there
  $ bundle build v2.15.2 --with-trivy-db --with-trivy-java-db
  $ bundle build --trivy-db-only --sign-key ~/.bundle/harbor.key   # the weekly DB refresh

` + exitStatusHelp,
		Args: func(_ *cobra.Command, args []string) error {
			if f.trivyDBOnly {
				if len(args) != 0 {
					return usagef("build --trivy-db-only takes no VERSION: it builds a DB-only bundle")
				}
				return nil
			}
			if len(args) != 1 {
				return usagef("build takes one VERSION, e.g. bundle build v1.10.0 (bundle releases lists them)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			release := ""
			if len(args) == 1 {
				release = args[0]
			}
			opts, jsonOut, err := f.options(release, cmd.Flags().Changed("level"))
			if err != nil {
				return err
			}
			if opts.SignKey, err = a.readSignKey(f.signKey); err != nil {
				return err
			}
			opts.Progress = a.reporter(f.quiet)
			res, err := builder.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(a.stdout, res)
			}
			printBuild(a.stdout, res)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.output, "output", "o", nil, "output `FILE` (default harbor-upgrade-MAJOR.MINOR.run), or summary format text|json")
	fl.BoolVarP(&f.force, "force", "f", false, "overwrite an existing output")
	fl.StringVar(&f.registry, "registry", builder.DefaultRegistry, "registry `HOST[:PORT]` to pull the goharbor/* images from (a mirror)")
	fl.BoolVar(&f.insecureRegistry, "insecure-registry", false, "talk plain HTTP to --registry")
	fl.StringVar(&f.platform, "platform", builder.DefaultPlatform, "image platform `OS/ARCH`")
	fl.StringArrayVar(&f.from, "from", nil, "`VERSION` or minor line (1.10) to upgrade from (repeatable): the bundle carries every release of the shortest chain from it")
	fl.StringVar(&f.installer, "installer", "", "installer .tgz `URL|FILE`, online or offline (default: the release's online installer)")
	fl.StringVar(&f.installerBase, "installer-base", "", "`URL` replacing https://github.com in the default installer URL (a mirror)")
	fl.StringVar(&f.installerSHA256, "installer-sha256", "", "refuse an installer whose sha256 is not `HEX`")
	fl.StringVar(&f.installerKeyring, "installer-keyring", "", "gpg public key `FILE` to check the installer's .asc signature with")
	fl.StringSliceVar(&f.components, "components", nil, "optional components to include: `LIST` of notary,clair,chartmuseum,trivy | all | none (default all the release has)")
	fl.StringArrayVar(&f.catalogs, "catalog", nil, "catalog `FILE` to merge over the built-in one (repeatable)")
	fl.StringVar(&f.cache, "cache", "", "blob cache `DIR` (default <user cache dir>/harbor-bundle)")
	fl.IntVar(&f.jobs, "jobs", builder.DefaultJobs, "`N` parallel downloads")
	fl.StringVar(&f.compression, "compression", builder.DefaultCompression, "layer compression: zstd or keep (as pulled)")
	fl.StringVar(&f.level, "level", builder.DefaultLevel, "zstd level: "+strings.Join(builder.Levels, ", "))
	fl.StringVar(&f.split, "split", "", "cut the .run into parts of at most `SIZE` (e.g. 4G, 700M)")
	fl.StringVar(&f.signKey, "sign-key", "", "secret key `FILE` (bundle keygen, minisign -G) to sign the bundle with; writes NAME.run.minisig too")
	fl.StringVar(&f.stub, "stub", "", "bundle binary `FILE` to attach the payload to (default: this program)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress output")
	fl.BoolVar(&f.withTrivyDB, "with-trivy-db", false, "carry Trivy's vulnerability DB for the scanner (air-gapped scans)")
	fl.BoolVar(&f.withTrivyJavaDB, "with-trivy-java-db", false, "carry Trivy's Java DB too")
	fl.StringVar(&f.trivyDBRepository, "trivy-db-repository", "", "`REF` to pull the vulnerability DB from (default "+scandb.DefaultTrivyDBRef+")")
	fl.StringVar(&f.trivyJavaDBRepository, "trivy-java-db-repository", "", "`REF` to pull the Java DB from (default "+scandb.DefaultTrivyJavaDBRef+")")
	fl.BoolVar(&f.trivyDBOnly, "trivy-db-only", false, "build harbor-trivy-db-YYYYMMDD.run: only the DBs, to refresh a running Harbor (no VERSION)")
	return cmd
}

// options maps the flags to builder.Options; jsonOut says how to print the summary.
// levelSet says --level was given explicitly.
func (f *buildFlags) options(release string, levelSet bool) (opts builder.Options, jsonOut bool, err error) {
	var file string
	for _, o := range f.output {
		switch o {
		case "text":
			jsonOut = false
		case "json":
			jsonOut = true
		default:
			if file != "" {
				return opts, false, usagef("-o given two files (%s, %s): give one file, and text or json for the summary", file, o)
			}
			file = o
		}
	}
	if f.compression == "keep" && levelSet {
		return opts, false, usagef("--level applies to --compression zstd only")
	}
	level := f.level
	if f.compression == "keep" {
		level = ""
	}
	return builder.Options{
		Version:               release,
		From:                  f.from,
		Output:                file,
		Force:                 f.force,
		Registry:              f.registry,
		InsecureRegistry:      f.insecureRegistry,
		Platform:              f.platform,
		Installer:             f.installer,
		InstallerBase:         f.installerBase,
		InstallerSHA256:       f.installerSHA256,
		InstallerKeyring:      f.installerKeyring,
		Components:            f.components,
		CatalogFiles:          f.catalogs,
		CacheDir:              f.cache,
		Jobs:                  f.jobs,
		Compression:           f.compression,
		Level:                 level,
		Split:                 f.split,
		Stub:                  f.stub,
		BuilderVersion:        version,
		WithTrivyDB:           f.withTrivyDB,
		WithTrivyJavaDB:       f.withTrivyJavaDB,
		TrivyDBRepository:     f.trivyDBRepository,
		TrivyJavaDBRepository: f.trivyJavaDBRepository,
		TrivyDBOnly:           f.trivyDBOnly,
	}, jsonOut, nil
}

// readSignKey reads --sign-key, asking for its password on the terminal (or reading a line of
// stdin) when it is encrypted. A key that cannot be used refuses the build before any work.
func (a *app) readSignKey(path string) (*sign.SecretKey, error) {
	if path == "" {
		return nil, nil
	}
	password := func() ([]byte, error) {
		return nil, errors.New("the key is encrypted and standard input is not a terminal or file to read its password from")
	}
	if in, ok := a.stdin.(*os.File); ok {
		password = sign.PasswordPrompt(in, a.stderr, "Password for "+path+": ")
	}
	key, err := sign.ReadSecretKey(path, password)
	if err != nil {
		return nil, refused(fmt.Errorf("--sign-key: %w", err))
	}
	return key, nil
}

// printBuild writes the summary of a build.
func printBuild(w io.Writer, res *builder.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	files := filepath.Base(res.File)
	if len(res.Parts) > 0 {
		var names []string
		for _, p := range res.Parts {
			names = append(names, filepath.Base(p.Path))
		}
		files = strings.Join(names, " ")
	}
	fmt.Fprintf(tw, "Wrote:\t%s (%s)\n", files, progress.HumanBytes(res.Size))
	fmt.Fprintf(tw, "In:\t%s\n", filepath.Dir(res.File))
	fmt.Fprintf(tw, "sha256:\t%s (also in %s)\n", res.SHA256, filepath.Base(res.ChecksumFile))
	if res.SignatureFile != "" {
		fmt.Fprintf(tw, "Signed:\tyes (manifest in the trailer, whole file in %s)\n", filepath.Base(res.SignatureFile))
	}
	if res.Kind == payload.KindTrivyDBRefresh {
		fmt.Fprintf(tw, "Kind:\t%s (refreshes the Trivy DBs of a running Harbor)\n", res.Kind)
	} else {
		fmt.Fprintf(tw, "Harbor release:\t%s\n", res.Release)
		fmt.Fprintf(tw, "Upgrades from:\t%s\n", strings.Join(res.FromVersions, ", "))
		fmt.Fprintf(tw, "Components:\t%s\n", strings.Join(res.Components, ", "))
		fmt.Fprintf(tw, "Images:\t%d, layers %s\n", len(res.Images), res.Compression)
		fmt.Fprintf(tw, "Installer:\t%s\n", res.Installer.Source)
		printHops(tw, res.Hops, res.Chains)
	}
	for _, d := range res.ScanDBs {
		fmt.Fprintf(tw, "Trivy DB:\t%s\n", scanDBLine(d))
	}
	c := res.Cache
	fmt.Fprintf(tw, "Cache:\t%d blobs fetched (%s), %d reused, %d damaged and refetched, %d layers recompressed\n",
		c.BlobsFetched, progress.HumanBytes(c.BytesFetched), c.BlobsReused, c.BlobsCorrupt, c.Recompressed)
	fmt.Fprintf(tw, "Time:\t%.1fs\n", res.Seconds)
	tw.Flush()
}
