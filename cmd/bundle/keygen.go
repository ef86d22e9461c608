package main

import (
	"errors"
	"fmt"

	"github.com/harborbundle/bundle/sign"
	"github.com/spf13/cobra"
)

func init() { toolVerbs = append(toolVerbs, newKeygenCmd) }

// keygenOptions are the flags of bundle keygen.
type keygenOptions struct {
	// publicKey is where the public key file goes (mode 0644).
	publicKey string
	// secretKey is where the unencrypted secret key file goes (mode 0600).
	secretKey string
	// force replaces existing key files.
	force bool
}

func newKeygenCmd(a *app) *cobra.Command {
	var opts keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a minisign-compatible key pair for signing bundles",
		Long: `Make an ed25519 key pair in minisign's formats: the secret key signs bundles
(bundle build --sign-key), the public key verifies them (bundle verify --key, the .run's --key,
or /etc/harbor-bundle/trusted.pub on the host), and minisign reads both.

The secret key is written unencrypted with mode 0600; a secret key file that others can read
is refused when signing. To protect it with a password, run minisign -C -s SEC: bundle asks for
the password when it signs. Keys made by minisign -G work as they are.

Existing key files are never replaced without --force: bundles signed with the old key no
longer verify against the new public key.

Examples:
  $ bundle keygen
  $ bundle keygen -p /secure/harbor.pub -s /secure/harbor.key

` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runKeygen(a, opts) },
	}
	cmd.Flags().StringVarP(&opts.publicKey, "public-key", "p", "bundle.pub", "public key file to write")
	cmd.Flags().StringVarP(&opts.secretKey, "secret-key", "s", "bundle.key", "secret key file to write")
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "replace existing key files")
	return cmd
}

func runKeygen(a *app, opts keygenOptions) error {
	if opts.publicKey == "" || opts.secretKey == "" {
		return usagef("--public-key and --secret-key must name files")
	}
	pub, sec, err := sign.GenerateKey("")
	if err != nil {
		return err
	}
	if err := sign.WriteKeyPair(pub, sec, opts.publicKey, opts.secretKey, opts.force); err != nil {
		if errors.Is(err, sign.ErrKeyExists) {
			return refused(err)
		}
		return err
	}
	printKeygen(a, pub.ID, opts)
	return nil
}

func printKeygen(a *app, id sign.KeyID, opts keygenOptions) {
	fmt.Fprintf(a.stdout, `Key ID %s
  secret key: %s (unencrypted, mode 0600: keep it secret, never copy it to Harbor hosts)
  public key: %s

Sign a bundle:
  $ bundle build --sign-key %s v1.10.0
Check a bundle:
  $ bundle verify --key %s harbor-upgrade-1.10.run
  $ minisign -Vm harbor-upgrade-1.10.run -p %s
Trust the key on a Harbor host (unsigned bundles and bundles signed by another key are then refused):
  $ install -D -m 0644 %s /etc/harbor-bundle/trusted.pub
`, id, opts.secretKey, opts.publicKey, opts.secretKey, opts.publicKey, opts.publicKey, opts.publicKey)
}
