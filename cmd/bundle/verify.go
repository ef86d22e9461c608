package main

import (
	"fmt"
	"github.com/harborbundle/bundle/progress"
	"time"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/spf13/cobra"
)

func init() { toolVerbs = append(toolVerbs, newVerifyCmd) }

func newVerifyCmd(a *app) *cobra.Command {
	var (
		output  string
		quiet   bool
		keyPath string
	)
	cmd := &cobra.Command{
		Use:   "verify FILE [PART...]",
		Short: "Check a bundle's integrity in one streaming pass",
		Long: `Check every byte of a bundle: the trailer, the manifest's sha256, then every entry of the
payload against the manifest, in one streaming pass. An integrity failure names the damaged
entry.

Parts of a split bundle can be checked directly, without joining them: each part is checked
against NAME.run.sha256 (which must sit next to the parts), and when all parts are given the
joined content is verified too. Checking one part alone tells whether that copy is good.

With --key (or a trusted key in /etc/harbor-bundle/trusted.pub), the bundle must carry a valid
signature by that key; the signature covers the manifest, which covers every byte.

Examples:
  $ bundle verify harbor-upgrade-1.10.run
  $ bundle verify harbor-upgrade-1.10.run.0*
  $ bundle verify harbor-upgrade-1.10.run.002

` + exitStatusHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jsonOut, err := outputFlag(output)
			if err != nil {
				return err
			}
			key, _, err := selfextract.TrustedKey(keyPath)
			if err != nil {
				return refused(err)
			}
			res, err := selfextract.Verify(cmd.Context(), args, selfextract.VerifyOptions{Key: key, Progress: a.reporter(quiet || jsonOut)})
			if err != nil {
				return refused(err)
			}
			if jsonOut {
				return writeJSON(a.stdout, res)
			}
			printVerify(a, res)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	cmd.Flags().StringVar(&keyPath, "key", "", "public key (minisign format) that must have signed the bundle (default: "+selfextract.TrustedKeyPath+" when it exists)")
	return cmd
}

func printVerify(a *app, res *selfextract.VerifyResult) {
	for _, p := range res.Parts {
		fmt.Fprintf(a.stdout, "%s: OK\n", p.Path)
	}
	if !res.Complete {
		fmt.Fprintln(a.stdout, "parts checked; give all parts to verify the whole bundle")
		return
	}
	secs := res.Duration.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(a.stdout, "%s: OK (Harbor %s, %d images, %d entries, %s in %s, %s/s; signature: %s)\n",
		res.Info.File, res.Info.Manifest.Release, len(res.Info.Manifest.Images), len(res.Info.Manifest.Entries)+1,
		progress.HumanBytes(res.Bytes), res.Duration.Round(time.Millisecond), progress.HumanBytes(int64(float64(res.Bytes)/secs)), res.Signature)
}
