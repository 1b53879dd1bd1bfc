package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
)

func init() { commands = append(commands, newKeygenCmd) }

func newKeygenCmd(g *globals) *cobra.Command {
	var prefix string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen [--out PREFIX]",
		Short: "Generate an ECDSA P-256 key pair for signing VEX offline",
		Long: `Write PREFIX.key (the private key, PKCS#8 PEM, readable by its owner only)
and PREFIX.pub (the public key, PKIX PEM). vexloom also signs with
cosign-format keys (cosign generate-key-pair), whose password it reads from
VEXLOOM_KEY_PASSWORD or COSIGN_PASSWORD.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub, err := attest.GenerateKey()
			if err != nil {
				return err
			}
			privPath, pubPath := prefix+".key", prefix+".pub"
			for _, p := range []string{privPath, pubPath} {
				if _, err := os.Stat(p); err == nil && !force {
					return fmt.Errorf("%s exists; pass --force to replace it", p)
				}
			}
			if err := writeFileAtomic(privPath, priv, 0o600); err != nil {
				return err
			}
			if err := writeFileAtomic(pubPath, pub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", privPath, pubPath)
			return nil
		},
	}
	cmd.Flags().StringVarP(&prefix, "out", "o", "vexloom", "file name `prefix` of the key pair")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing files")
	return cmd
}
