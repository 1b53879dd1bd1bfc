package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v75/github"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexsource"
)

func init() { commands = append(commands, newPullCmd) }

func newPullCmd(g *globals) *cobra.Command {
	var (
		vf      verifyFlags
		from    string
		subject string
		output  string
	)
	cmd := &cobra.Command{
		Use:   "pull --from local:DIR|oci:REF|github:OWNER/REPO|feed:URL --subject sha256:HEX (--key FILE | --certificate-identity RE --certificate-oidc-issuer URL --trusted-root FILE) [-o DIR]",
		Short: "Fetch the VEX published about an artifact from a store, and verify it",
		Long: `Fetch every signed VEX document a store holds about an artifact (its
digest, --subject), verify each against the key or identity, and keep only
those that verify: written to -o DIR (one .openvex.json and its
.sigstore.json per document), or, without -o, the newest one printed.
Each document is reported on stderr with what its verification said.

  local:DIR          a local store written by vexloom publish --to local
  oci:REF            the referrers of the image in REF's repository
  github:OWNER/REPO  GitHub's attestation store (GITHUB_TOKEN)
  feed:URL           a vex-repo feed (feed:DIR: one written to a directory):
                     its documents carry no signature, so nothing from it
                     verifies; they are listed, not kept

Exit status: 0 when at least one document verified, 3 when none did.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if from == "" || subject == "" {
				return usageError("--from and --subject are required")
			}
			ad, err := publish.ParseDigest(subject)
			if err != nil {
				return usageError("--subject: %v", err)
			}
			pol, err := vf.policy()
			if err != nil {
				return err
			}
			if kind, where, _ := strings.Cut(from, ":"); where == "" || !slices.Contains([]string{"local", "oci", "github", "feed"}, kind) {
				return usageError("--from %q: want local:DIR, oci:REF, github:OWNER/REPO or feed:URL", from)
			}
			pol.Now = g.now()
			sources, err := openVEXSources(ctx, g, "--from", []string{from}, cmd.ErrOrStderr(), nil)
			if err != nil {
				return err
			}
			pulled, err := vexsource.Pull(ctx, sources[0], ad, pol)
			if err != nil {
				return fmt.Errorf("--from %s: %w", from, err)
			}
			stderr := cmd.ErrOrStderr()
			if sources[0].Kind() == vexsource.KindFeed {
				fmt.Fprintf(stderr, "%s: %d %s about %s, unsigned (a vex-repo feed carries no signatures): nothing from it verifies\n", from, pulled.Unsigned, plural(pulled.Unsigned, "statement"), subject)
			}
			for _, b := range pulled.Bundles {
				if b.Err != nil {
					fmt.Fprintf(stderr, "%s %s: REJECTED: %v\n", from, b.ID, b.Err)
					continue
				}
				n := len(b.Result.VEX.Statements)
				fmt.Fprintf(stderr, "%s %s: verified, signed by %s, %d %s\n", from, b.ID, b.Result.SignedBy, n, plural(n, "statement"))
			}
			ok := pulled.Verified()
			if len(ok) == 0 {
				n := len(pulled.Bundles)
				return &exitError{code: ExitPolicy, err: fmt.Errorf("no verified VEX about %s in %s (%d %s found)", subject, from, n, plural(n, "document"))}
			}
			if output == "" {
				newest, _ := pulled.Newest()
				data, err := vex.Marshal(newest.Result.VEX)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.MkdirAll(output, 0o755); err != nil {
				return err
			}
			for _, v := range ok {
				id := publish.SHA256(v.Bundle)
				name := strings.ReplaceAll(id.String(), ":", "-")
				data, err := vex.Marshal(v.Result.VEX)
				if err != nil {
					return err
				}
				if err := writeFileAtomic(filepath.Join(output, name+".openvex.json"), data, 0o644); err != nil {
					return err
				}
				if err := writeFileAtomic(filepath.Join(output, name+".sigstore.json"), v.Bundle, 0o644); err != nil {
					return err
				}
			}
			return jsonx.Write(cmd.OutOrStdout(), struct {
				Schema   string `json:"schema"`
				From     string `json:"from"`
				Subject  string `json:"subject"`
				Verified int    `json:"verified"`
				Rejected int    `json:"rejected"`
				Dir      string `json:"dir"`
			}{schemaBase + "pull/v1", from, subject, len(ok), len(pulled.Bundles) - len(ok), output})
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the `store`: local:DIR, oci:REF, github:OWNER/REPO or feed:URL")
	cmd.Flags().StringVar(&subject, "subject", "", "the artifact's `digest` (sha256:HEX, or gitCommit:SHA for a source release)")
	cmd.Flags().StringVarP(&output, "out", "o", "", "write every verified document and its bundle into `directory`")
	return cmd
}

// openVEXSources opens the VEX sources named by a command's flag (--vex,
// --from), each through vexsource.Open: registries with the default
// keychain, GitHub through the one client constructor (githubClient), the
// project's local store through published. A spec that names no source is
// a usage error.
func openVEXSources(ctx context.Context, g *globals, flag string, specs []string, notes io.Writer, published func() (string, error)) ([]vexsource.Source, error) {
	opts := vexsource.Options{
		Published: published,
		GitHub: func(ctx context.Context) (*github.Client, error) {
			if strings.TrimSpace(g.getenv("GITHUB_TOKEN")) == "" {
				return nil, errors.New("reading GitHub's attestation store needs GITHUB_TOKEN")
			}
			client, _, err := githubClient(ctx, g, nil, "", nil)
			return client, err
		},
		Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
		Now:    g.now,
		Notes:  notes,
	}
	var out []vexsource.Source
	for _, spec := range specs {
		src, err := vexsource.Open(spec, opts)
		if errors.Is(err, vexsource.ErrSpec) {
			return nil, usageError("%s: %v", flag, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, spec, err)
		}
		out = append(out, src)
	}
	return out, nil
}
