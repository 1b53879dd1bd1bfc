package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

func init() { commands = append(commands, newAttestCmd) }

func newAttestCmd(g *globals) *cobra.Command {
	var (
		sf     signerFlags
		pf     projectFlags
		output string
		commit string
	)
	cmd := &cobra.Command{
		Use:   "attest DOCUMENT --key FILE [--commit SHA] [-o BUNDLE]",
		Short: "Sign an OpenVEX document as an in-toto attestation in a Sigstore bundle",
		Long: `Wrap an OpenVEX document (a file, or - for stdin) in an in-toto v1 statement
(predicate type https://openvex.dev/ns/v0.2.0; the subjects are the
document's products that have a digest: images, binaries) and sign it into a
Sigstore bundle with a DSSE envelope. The bundle verifies with vexloom
verify and with cosign verify-blob-attestation --new-bundle-format.

A source release ships no artifact with a digest: --commit names its git
commit, which becomes the subject (in-toto's gitCommit digest) of the
project module's product. A release tracked by the project (releases in
vexloom.yaml) needs no --commit: its recorded commit is used.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			signer, err := sf.signer(g)
			if err != nil {
				return err
			}
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			doc, err := vex.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if commit == "" && !publish.HasDigestProduct(doc) {
				c, err := trackedCommit(cmd.Context(), g, &pf, doc)
				if err != nil {
					return fmt.Errorf("nothing to attest: %s has no product with a digest (an image or a binary), so its release commit is the subject: pass --commit SHA (%v)", args[0], err)
				}
				commit = c
			}
			var extra []attest.Subject
			if commit != "" {
				sub, err := publish.CommitSubject(doc, commit)
				if err != nil {
					return usageError("--commit: %v", err)
				}
				extra = append(extra, sub)
			}
			st, err := attest.StatementFor(doc, extra...)
			if err != nil {
				return err
			}
			bundle, err := attest.Sign(cmd.Context(), st, signer)
			if err != nil {
				return err
			}
			return writeBytes(cmd.OutOrStdout(), output, bundle)
		},
	}
	sf.register(cmd)
	pf.register(cmd)
	cmd.Flags().StringVarP(&output, "out", "o", "", "write the bundle to `file` (default stdout)")
	cmd.Flags().StringVar(&commit, "commit", "", "the release's git commit `SHA` (40 or 64 hex digits), a subject for a source release")
	return cmd
}
