package cli

import (
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/imagevex"
)

func init() { commands = append(commands, newImagesCmd) }

func newImagesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Release images: scanner reports of them and their base image's VEX",
		Args:  exactArgs(0),
	}
	cmd.AddCommand(newImagesIngestCmd(g), newImagesVEXCmd(g))
	return cmd
}

// baseTrust is who may sign a base image's VEX.
type baseTrust struct {
	key, identity, issuer, trustedRoot string
}

func (b *baseTrust) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&b.key, "base-key", "", "public `key` that signs the base image's VEX")
	cmd.Flags().StringVar(&b.identity, "base-identity", "", "keyless: the certificate identity (a `regexp`) that signs the base image's VEX")
	cmd.Flags().StringVar(&b.issuer, "base-issuer", "", "keyless: the OIDC `issuer` of --base-identity")
	cmd.Flags().StringVar(&b.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root `file` (default: the public-good instance's)")
}

// policy is the verification policy; nil when no trust is configured (then
// no base statement counts). defaultKey (releases.base_vex_key, resolved)
// applies when neither --base-key nor --base-identity is given.
func (b *baseTrust) policy(defaultKey string) (*attest.TrustPolicy, error) {
	t := imagevex.Trust{Key: b.key, Identity: b.identity, Issuer: b.issuer, TrustedRoot: b.trustedRoot}
	if t.Key == "" && t.Identity == "" {
		t.Key = defaultKey
	}
	if t.Key == "" && t.Identity != "" && t.Issuer == "" {
		return nil, usageError("--base-identity needs --base-issuer")
	}
	return t.Policy()
}

// baseVEXKey is releases.base_vex_key, resolved; "" when not configured.
func (p *project) baseVEXKey() string {
	if k := p.cfg.Releases.BaseVEXKey; k != "" {
		return p.cfg.Resolve(k)
	}
	return ""
}
