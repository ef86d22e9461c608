package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/spf13/cobra"
)

// The makeself-style verbs of a .run: describe, list, verify and unpack the attached payload.
func init() {
	runVerbs = append(runVerbs, newInfoCmd, newListCmd, newCheckCmd, newExtractCmd)
}

func newInfoCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Describe this bundle: release, upgrade paths, images, build, signature",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			pr, err := a.self.OpenPayload()
			if err != nil {
				return refused(err)
			}
			info := a.self.Info(pr)
			if jsonOut {
				return writeJSON(a.stdout, info)
			}
			printInfo(a.stdout, info)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newListCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every file in the payload with its size and sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			pr, err := a.self.OpenPayload()
			if err != nil {
				return refused(err)
			}
			entries := pr.Manifest().Entries
			if jsonOut {
				return writeJSON(a.stdout, entries)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODE\tSIZE\tSHA256\tPATH")
			for _, e := range entries {
				fmt.Fprintf(tw, "%04o\t%d\t%s\t%s\n", e.Mode, e.Size, e.SHA256, e.Path)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newCheckCmd(a *app) *cobra.Command {
	var (
		quiet   bool
		keyPath string
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify this whole file in one pass; names any damaged entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, _, err := selfextract.TrustedKey(keyPath)
			if err != nil {
				return refused(err)
			}
			res, err := selfextract.Verify(cmd.Context(), []string{a.self.Path}, selfextract.VerifyOptions{Key: key, Progress: a.reporter(quiet)})
			if err != nil {
				return refused(err)
			}
			printVerify(a, res)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	cmd.Flags().StringVar(&keyPath, "key", "", "public key that must have signed this bundle (default: "+selfextract.TrustedKeyPath+" when it exists)")
	return cmd
}

func newExtractCmd(a *app) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "extract DIR",
		Short: "Unpack the payload into DIR: an OCI image layout (images/) and the installer files",
		Long: `Unpack the payload into DIR (created if missing, refused if not empty): images/ is a standard
OCI image layout that crane and skopeo read (for example: skopeo copy
oci:DIR/images:goharbor/harbor-core:v1.10.0 docker-daemon:goharbor/harbor-core:v1.10.0), and
installer/ holds the Harbor installer files with their modes. Every entry is checked against
the manifest while it is written; nothing outside DIR is ever written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr, err := a.self.OpenPayload()
			if err != nil {
				return refused(err)
			}
			if err := pr.Extract(cmd.Context(), args[0], a.reporter(quiet)); err != nil {
				return refused(err)
			}
			m := pr.Manifest()
			fmt.Fprintf(a.stdout, "extracted Harbor %s into %s: %d images in %s, installer in %s\n",
				m.Release, args[0], len(m.Images), strings.TrimSuffix(args[0], "/")+"/images", strings.TrimSuffix(args[0], "/")+"/installer")
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}
