package cli

import (
	"fmt"
	"io"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

func init() { commands = append(commands, newVerifyCmd) }

// verifyFlags say what a bundle must satisfy.
type verifyFlags struct {
	key         string
	identity    string
	issuer      string
	trustedRoot string
}

func (f *verifyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "key", "", "public key `file` the bundle must be signed with (PEM)")
	cmd.Flags().StringVar(&f.identity, "certificate-identity", "", "keyless: a `regexp` the certificate's subject must match in full")
	cmd.Flags().StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer `URL` of the certificate")
	cmd.Flags().StringVar(&f.trustedRoot, "trusted-root", "", "keyless: a Sigstore trusted root `file` (trusted_root.json)")
}

func (f *verifyFlags) policy() (attest.TrustPolicy, error) {
	switch {
	case f.key != "" && (f.identity != "" || f.issuer != ""):
		return attest.TrustPolicy{}, usageError("--key and --certificate-identity exclude each other")
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return attest.TrustPolicy{}, fmt.Errorf("reading the public key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return attest.TrustPolicy{}, err
		}
		return attest.TrustPolicy{PublicKey: pub}, nil
	case f.identity != "" || f.issuer != "":
		if f.identity == "" || f.issuer == "" {
			return attest.TrustPolicy{}, usageError("keyless verification needs both --certificate-identity and --certificate-oidc-issuer")
		}
		if f.trustedRoot == "" {
			return attest.TrustPolicy{}, usageError("keyless verification needs --trusted-root (the Sigstore trusted_root.json; vexloom does not fetch it)")
		}
		tr, err := readTrustedRoot(f.trustedRoot)
		if err != nil {
			return attest.TrustPolicy{}, fmt.Errorf("reading the trusted root: %w", err)
		}
		return attest.TrustPolicy{Identity: &attest.Identity{Issuer: f.issuer, SubjectRegexp: f.identity}, TrustedMaterial: tr}, nil
	}
	return attest.TrustPolicy{}, usageError("say what to verify against: --key FILE, or --certificate-identity and --certificate-oidc-issuer")
}

func newVerifyCmd(g *globals) *cobra.Command {
	var (
		vf              verifyFlags
		digests         []string
		withoutArtifact bool
		format          string
		output          string
	)
	cmd := &cobra.Command{
		Use:   "verify BUNDLE (--key FILE | --certificate-identity RE --certificate-oidc-issuer URL --trusted-root FILE) [--digest sha256:HEX]...",
		Short: "Verify a signed VEX bundle and print its statements only if it verifies",
		Long: `Verify a Sigstore bundle holding an OpenVEX attestation: the signature
against a public key or a keyless identity, and each --digest (an image or
binary digest) against the statement's subjects. Only when every check
passes is the OpenVEX document printed. A failure names its reason:
malformed bundle, bad signature (tampered or another key), identity,
expired certificate, digest not a subject, predicate not OpenVEX.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "openvex", "json"); err != nil {
				return err
			}
			pol, err := vf.policy()
			if err != nil {
				return err
			}
			if len(digests) == 0 {
				if !withoutArtifact {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: no --digest given: the signature is checked, not which artifact the statements are about")
				}
				withoutArtifact = true
			}
			for _, d := range digests {
				pd, err := attest.ParseDigest(d)
				if err != nil {
					return usageError("--digest %s: %v", d, err)
				}
				pol.ArtifactDigests = append(pol.ArtifactDigests, pd)
			}
			pol.WithoutArtifact = withoutArtifact
			pol.Now = g.now()
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			res, err := attest.Verify(cmd.Context(), data, pol)
			if err != nil {
				return &exitError{code: ExitPolicy, err: fmt.Errorf("%s does not verify: %w", args[0], err)}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "verified: signed by %s, %d %s\n", res.SignedBy, len(res.Subjects), plural(len(res.Subjects), "subject"))
			return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
				if format == "json" {
					return jsonx.Write(w, struct {
						Schema   string           `json:"schema"`
						SignedBy string           `json:"signed_by"`
						Subjects []attest.Subject `json:"subjects"`
						VEX      *openvex.VEX     `json:"vex"`
					}{schemaBase + "verify/v1", res.SignedBy, res.Subjects, res.VEX})
				}
				b, err := vex.Marshal(res.VEX)
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			})
		},
	}
	vf.register(cmd)
	cmd.Flags().StringArrayVar(&digests, "digest", nil, "an artifact `digest` (sha256:HEX) that must be a subject (repeatable)")
	cmd.Flags().BoolVar(&withoutArtifact, "without-artifact", false, "check the signature without naming an artifact")
	cmd.Flags().StringVar(&format, "format", "openvex", "output `format`: openvex or json")
	cmd.Flags().StringVarP(&output, "out", "o", "", "write to `file` (default stdout)")
	return cmd
}
