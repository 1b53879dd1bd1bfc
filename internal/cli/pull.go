package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
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
  feed:URL           a vex-repo feed: its documents carry no signature, so
                     nothing from it verifies; they are listed, not kept

Exit status: 0 when at least one document verified, 3 when none did.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if from == "" || subject == "" {
				return usageError("--from and --subject are required")
			}
			pd, err := publish.ParseDigest(subject)
			if err != nil {
				return usageError("--subject: %v", err)
			}
			ad, err := attest.ParseDigest(subject)
			if err != nil {
				return usageError("--subject: %v", err)
			}
			pol, err := vf.policy()
			if err != nil {
				return err
			}
			pol.ArtifactDigests = []attest.Digest{ad}
			pol.Now = g.now()
			bundles, err := fetchBundles(ctx, g, from, pd, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			type verified struct {
				name   string
				bundle []byte
				res    *attest.Result
			}
			var ok []verified
			for _, b := range bundles {
				res, err := attest.Verify(ctx, b.bundle, pol)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: REJECTED: %v\n", b.name, err)
					continue
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: verified, signed by %s, %d %s\n", b.name, res.SignedBy, len(res.VEX.Statements), plural(len(res.VEX.Statements), "statement"))
				ok = append(ok, verified{b.name, b.bundle, res})
			}
			if len(ok) == 0 {
				return &exitError{code: ExitPolicy, err: fmt.Errorf("no verified VEX about %s in %s (%d %s found)", subject, from, len(bundles), plural(len(bundles), "document"))}
			}
			if output == "" {
				newest := ok[0]
				for _, v := range ok[1:] {
					if ts, nt := v.res.VEX.Timestamp, newest.res.VEX.Timestamp; ts != nil && (nt == nil || ts.After(*nt)) {
						newest = v
					}
				}
				data, err := vex.Marshal(newest.res.VEX)
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
				id := publish.SHA256(v.bundle)
				name := strings.ReplaceAll(id.String(), ":", "-")
				data, err := vex.Marshal(v.res.VEX)
				if err != nil {
					return err
				}
				if err := writeFileAtomic(filepath.Join(output, name+".openvex.json"), data, 0o644); err != nil {
					return err
				}
				if err := writeFileAtomic(filepath.Join(output, name+".sigstore.json"), v.bundle, 0o644); err != nil {
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
			}{schemaBase + "pull/v1", from, subject, len(ok), len(bundles) - len(ok), output})
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the `store`: local:DIR, oci:REF, github:OWNER/REPO or feed:URL")
	cmd.Flags().StringVar(&subject, "subject", "", "the artifact's `digest` (sha256:HEX, or gitCommit:SHA for a source release)")
	cmd.Flags().StringVarP(&output, "out", "o", "", "write every verified document and its bundle into `directory`")
	return cmd
}

type fetched struct {
	name   string
	bundle []byte
}

// fetchBundles reads the bundles a store holds about a subject.
func fetchBundles(ctx context.Context, g *globals, from string, subject publish.Digest, stderr io.Writer) ([]fetched, error) {
	kind, where, _ := strings.Cut(from, ":")
	if where == "" {
		return nil, usageError("--from %q: want local:DIR, oci:REF, github:OWNER/REPO or feed:URL", from)
	}
	var out []fetched
	switch kind {
	case "local":
		if _, err := os.Stat(where); err != nil {
			return nil, fmt.Errorf("--from %s: %w", from, err)
		}
		l, err := publish.NewLocal(where, g.now)
		if err != nil {
			return nil, err
		}
		recs, err := l.List(ctx, publish.Query{Subject: &subject})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Object.Bundle != nil {
				out = append(out, fetched{from + " " + r.ID, r.Object.Bundle})
			}
		}
	case "oci":
		o, err := publish.NewOCI(where, g.now, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return nil, err
		}
		atts, err := o.Referrers(ctx, subject)
		if err != nil {
			return nil, fmt.Errorf("--from %s: %w", from, err)
		}
		for _, a := range atts {
			out = append(out, fetched{from + " referrer " + a.Manifest, a.Bundle})
		}
	case "github":
		if strings.TrimSpace(g.getenv("GITHUB_TOKEN")) == "" {
			return nil, errors.New("reading GitHub's attestation store needs GITHUB_TOKEN")
		}
		client, _, err := githubClient(ctx, g, nil, "", nil)
		if err != nil {
			return nil, err
		}
		gh, err := publish.NewGitHub(client, where)
		if err != nil {
			return nil, err
		}
		bs, err := gh.List(ctx, subject)
		if err != nil && !errors.Is(err, publish.ErrNotFound) {
			return nil, fmt.Errorf("--from %s: %w", from, err)
		}
		for i, b := range bs {
			out = append(out, fetched{fmt.Sprintf("%s attestation %d", from, i+1), b})
		}
	case "feed":
		sts, err := loadFeed(ctx, where, stderr)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, s := range sts {
			for _, p := range s.Products {
				if purl.OCIDigest(p) == subject.String() {
					n++
				}
			}
		}
		fmt.Fprintf(stderr, "%s: %d %s about %s, unsigned (a vex-repo feed carries no signatures): nothing from it verifies\n", from, n, plural(n, "statement"), subject)
	default:
		return nil, usageError("--from %q: want local:DIR, oci:REF, github:OWNER/REPO or feed:URL", from)
	}
	return out, nil
}
