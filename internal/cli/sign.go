package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

func init() {
	commands = append(commands, newKeygenCmd, newAttestCmd, newVerifyCmd, newPublishCmd)
}

// maxInputFile bounds a document or bundle read from a file.
const maxInputFile = attest.MaxBundleSize

// readInput reads a document or bundle from a file (a regular one: never
// a FIFO or a device), or stdin for "-", giving up when the command's
// context is cancelled.
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if path != "-" {
		return infile.Read(ctx, path, maxInputFile)
	}
	return infile.ReadAll(ctx, cmd.InOrStdin(), "stdin", maxInputFile)
}

// keyPassword is the password of an encrypted (cosign-format) private key,
// from the environment.
func keyPassword(g *globals) func() ([]byte, error) {
	return func() ([]byte, error) {
		for _, v := range []string{"VEXLOOM_KEY_PASSWORD", "COSIGN_PASSWORD"} {
			if p := g.getenv(v); p != "" {
				return []byte(p), nil
			}
		}
		return nil, errors.New("the key is encrypted: set VEXLOOM_KEY_PASSWORD or COSIGN_PASSWORD")
	}
}

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

// signerFlags choose how a document is signed.
type signerFlags struct {
	key      string
	keyless  bool
	fulcio   string
	rekor    string
	tsa      string
	idToken  string
	password string
}

func (f *signerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "key", "", "private key `file` to sign with (PEM; cosign-format keys read their password from VEXLOOM_KEY_PASSWORD or COSIGN_PASSWORD)")
	cmd.Flags().BoolVar(&f.keyless, "keyless", false, "sign keyless with a Fulcio certificate and a Rekor entry (needs the network and an OIDC token)")
	cmd.Flags().StringVar(&f.fulcio, "fulcio-url", "https://fulcio.sigstore.dev", "Fulcio `URL` for --keyless")
	cmd.Flags().StringVar(&f.rekor, "rekor-url", "https://rekor.sigstore.dev", "Rekor `URL` for --keyless")
	cmd.Flags().StringVar(&f.tsa, "timestamp-url", "", "RFC 3161 timestamp authority `URL` for --keyless (optional)")
	cmd.Flags().StringVar(&f.idToken, "identity-token", "", "OIDC ID `token` for --keyless (default $SIGSTORE_ID_TOKEN)")
}

func (f *signerFlags) signer(g *globals) (attest.Signer, error) {
	switch {
	case f.key != "" && f.keyless:
		return nil, usageError("--key and --keyless exclude each other")
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading the key: %w", err)
		}
		return attest.LoadPrivateKey(data, keyPassword(g))
	case f.keyless:
		tok := f.idToken
		if tok == "" {
			tok = g.getenv("SIGSTORE_ID_TOKEN")
		}
		if tok == "" {
			return nil, usageError("--keyless needs an OIDC token: --identity-token or SIGSTORE_ID_TOKEN")
		}
		return &attest.Keyless{FulcioURL: f.fulcio, RekorURL: f.rekor, TimestampAuthorityURL: f.tsa, IDToken: tok}, nil
	}
	return nil, usageError("say how to sign: --key FILE or --keyless")
}

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
			if commit == "" && !hasDigestProduct(doc) {
				c, err := trackedCommit(cmd.Context(), g, &pf, doc)
				if err != nil {
					return usageError("%s names no image or binary with a digest, so its release commit is the subject: pass --commit SHA (%v)", args[0], err)
				}
				commit = c
			}
			var extra []attest.Subject
			if commit != "" {
				sub, err := commitSubject(doc, commit)
				if err != nil {
					return usageError("--commit: %v", err)
				}
				extra = append(extra, sub)
			}
			bundle, err := signDocument(cmd.Context(), doc, signer, extra...)
			if err != nil {
				return err
			}
			return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
				_, err := w.Write(bundle)
				return err
			})
		},
	}
	sf.register(cmd)
	pf.register(cmd)
	cmd.Flags().StringVarP(&output, "out", "o", "", "write the bundle to `file` (default stdout)")
	cmd.Flags().StringVar(&commit, "commit", "", "the release's git commit `SHA` (40 or 64 hex digits), a subject for a source release")
	return cmd
}

func signDocument(ctx context.Context, doc *openvex.VEX, signer attest.Signer, extra ...attest.Subject) ([]byte, error) {
	st, err := attest.StatementFor(doc, extra...)
	if err != nil {
		return nil, err
	}
	return attest.Sign(ctx, st, signer)
}

// hasDigestProduct reports whether a document names a product with a
// digest (an image, a binary): something to attest without a commit.
func hasDigestProduct(doc *openvex.VEX) bool {
	_, err := attest.Statement(doc)
	return !errors.Is(err, attest.ErrNoSubject)
}

// releaseSubject is the subject binding a release document's module
// product to the commit ref resolves to in the project's repository.
func releaseSubject(ctx context.Context, g *globals, cmd *cobra.Command, p *project, doc *openvex.VEX, ref string) (attest.Subject, error) {
	repo, err := p.openRepository(ctx, g, g.progress(cmd))
	if err != nil {
		return attest.Subject{}, err
	}
	c, err := repo.ResolveRevision(ctx, ref)
	if err != nil {
		return attest.Subject{}, err
	}
	return commitSubject(doc, c.Hash)
}

// commitSubject makes the subject of a source release: the document's
// first product (the project's module at the release version), by the
// release's commit.
func commitSubject(doc *openvex.VEX, commit string) (attest.Subject, error) {
	d, err := attest.ParseDigest(attest.GitCommit + ":" + commit)
	if err != nil {
		return attest.Subject{}, err
	}
	name := ""
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			if name == "" || p.ID < name {
				if purl.IsGo(p.ID) {
					name = p.ID
				}
			}
		}
	}
	if name == "" {
		return attest.Subject{}, errors.New("the document names no Go module product to attach the commit to")
	}
	return attest.Subject{Name: name, Digest: map[string]string{d.Algorithm: d.Hex}}, nil
}

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

func (f *verifyFlags) policy() (attest.Policy, error) {
	switch {
	case f.key != "" && (f.identity != "" || f.issuer != ""):
		return attest.Policy{}, usageError("--key and --certificate-identity exclude each other")
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return attest.Policy{}, fmt.Errorf("reading the public key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return attest.Policy{}, err
		}
		return attest.Policy{PublicKey: pub}, nil
	case f.identity != "" || f.issuer != "":
		if f.identity == "" || f.issuer == "" {
			return attest.Policy{}, usageError("keyless verification needs both --certificate-identity and --certificate-oidc-issuer")
		}
		if f.trustedRoot == "" {
			return attest.Policy{}, usageError("keyless verification needs --trusted-root (the Sigstore trusted_root.json; vexloom does not fetch it)")
		}
		tr, err := readTrustedRoot(f.trustedRoot)
		if err != nil {
			return attest.Policy{}, fmt.Errorf("reading the trusted root: %w", err)
		}
		return attest.Policy{Identity: &attest.Identity{Issuer: f.issuer, SubjectRegexp: f.identity}, TrustedMaterial: tr}, nil
	}
	return attest.Policy{}, usageError("say what to verify against: --key FILE, or --certificate-identity and --certificate-oidc-issuer")
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

func newPublishCmd(g *globals) *cobra.Command {
	var (
		pf                   projectFlags
		sf                   signerFlags
		to                   []string
		kind, ref            string
		feedURL              string
		holdUntilFixed       bool
		holdUntil            string
		publishInvestigation bool
	)
	cmd := &cobra.Command{
		Use:   "publish FILE --ref NAME [--key FILE] [--to local[:DIR]|feed[:DIR]|oci:REF|github:OWNER/REPO]...",
		Short: "Sign and publish a VEX document to stores that keep every version",
		Long: `Publish an OpenVEX document (signed here with --key or --keyless) or an
already signed Sigstore bundle to one or more stores. No store overwrites
history: a new version is a new object, old ones stay readable.

  local[:DIR]         a content-addressed store, indexed by subject digest
                      and by product: the project's (<store>/published, the
                      default) or DIR
  feed[:DIR]          the vex-repo feed generated from the project's local
                      store, written to <vex dir>/feed or DIR, which 'trivy
                      vex repo' can subscribe to; 'vexloom serve' serves it at
                      /feed/
  oci:REF             the image's registry, as an OCI 1.1 referrer of each
                      image product (tag scheme where referrers are missing)
  github:OWNER/REPO   GitHub's attestation store (GITHUB_TOKEN)

A publish policy can hold statements back before signing: --hold-affected-
until-fixed, --hold-affected-until DATE; under_investigation statements are
never public unless --publish-under-investigation. What is held, and why, is
printed and recorded in the store.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ref == "" {
				return usageError("--ref is required: the release (tag) or branch the document belongs to")
			}
			if kind != publish.KindRelease && kind != publish.KindBranch {
				return usageError("--kind must be %s or %s", publish.KindRelease, publish.KindBranch)
			}
			if len(to) == 0 {
				to = []string{"local"}
			}
			var until time.Time
			if holdUntil != "" {
				t, err := time.Parse(time.DateOnly, holdUntil)
				if err != nil {
					return usageError("--hold-affected-until takes a date (2026-12-31), not %q", holdUntil)
				}
				until = t
			}
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			now := g.now()

			var obj publish.Object
			if isBundle(data) {
				if sf.key != "" || sf.keyless {
					return usageError("%s is already signed; publish it without --key", args[0])
				}
				st, err := bundleStatement(data)
				if err != nil {
					return err
				}
				doc, subjects, err := attest.ReadStatement(st)
				if err != nil {
					return err
				}
				obj, err = objectOf(doc, subjects, data)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "note: a signed bundle is published as it is; no publish policy applies")
			} else {
				doc, err := vex.Parse(data)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				pol := publish.Policy{HoldAffectedUntilFixed: holdUntilFixed, HoldAffectedUntil: until, PublishUnderInvestigation: publishInvestigation}
				public, held := pol.Apply(doc, now)
				for _, h := range held {
					fmt.Fprintf(cmd.ErrOrStderr(), "held: %s for %s (%s): %s\n", h.Vulnerability, h.Product, h.Status, h.Reason)
				}
				if len(held) > 0 {
					rec, _ := json.Marshal(struct {
						Ref  string         `json:"ref"`
						Doc  string         `json:"document"`
						Held []publish.Held `json:"held"`
					}{ref, public.ID, held})
					if err := p.store.SetCursor(ctx, "publish:held:"+ref, string(rec)); err != nil {
						return err
					}
				}
				if len(public.Statements) == 0 {
					return fmt.Errorf("nothing left to publish: every statement of %s is held", args[0])
				}
				var bundle []byte
				if sf.key != "" || sf.keyless {
					signer, err := sf.signer(g)
					if err != nil {
						return err
					}
					var extra []attest.Subject
					if kind == publish.KindRelease {
						// The release commit is the subject of the project's
						// module product (what gate --release checks); for a
						// source release it is the only one.
						sub, err := releaseSubject(ctx, g, cmd, p, public, ref)
						if err != nil && !hasDigestProduct(public) {
							return fmt.Errorf("the document names no image or binary, so its release commit is the subject: %w", err)
						}
						if err == nil {
							extra = append(extra, sub)
						} else {
							g.progress(cmd).Printf("note: the module product is not signed for the release commit: %v", err)
						}
					}
					bundle, err = signDocument(ctx, public, signer, extra...)
					if err != nil {
						return err
					}
				} else if kind == publish.KindRelease {
					return usageError("a release document is published signed: pass --key FILE or --keyless")
				}
				var subjects []attest.Subject
				if bundle != nil {
					st, err := bundleStatement(bundle)
					if err != nil {
						return err
					}
					_, subjects, err = attest.ReadStatement(st)
					if err != nil {
						return err
					}
				}
				obj, err = objectOf(public, subjects, bundle)
				if err != nil {
					return err
				}
			}
			obj.Kind, obj.Ref = kind, ref
			for _, dest := range to {
				st, err := p.publishStore(ctx, g, dest, feedURL)
				if err != nil {
					return err
				}
				r, err := st.Publish(ctx, obj)
				if err != nil {
					return fmt.Errorf("publishing to %s: %w", dest, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s\n", r.Store, r.ID, r.Location)
			}
			return nil
		},
	}
	pf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringArrayVar(&to, "to", nil, "a `store`: local[:DIR], feed[:DIR], oci:REF or github:OWNER/REPO (repeatable; default local, the project's store)")
	cmd.Flags().StringVar(&kind, "kind", publish.KindRelease, "what the document is: release or branch")
	cmd.Flags().StringVar(&ref, "ref", "", "the release (tag) or branch `name` the document belongs to")
	cmd.Flags().StringVar(&feedURL, "feed-url", "http://localhost:8080/feed", "the `URL` the feed is served at (what users give to trivy vex repo)")
	cmd.Flags().BoolVar(&holdUntilFixed, "hold-affected-until-fixed", false, "hold affected statements back until a fix exists")
	cmd.Flags().StringVar(&holdUntil, "hold-affected-until", "", "hold affected statements back until this `date` (YYYY-MM-DD)")
	cmd.Flags().BoolVar(&publishInvestigation, "publish-under-investigation", false, "publish under_investigation statements too")
	return cmd
}

// isBundle tells a Sigstore bundle from an OpenVEX document.
func isBundle(data []byte) bool {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal(data, &probe) == nil && strings.HasPrefix(probe.MediaType, "application/vnd.dev.sigstore.bundle")
}

// bundleStatement returns the in-toto statement a bundle's DSSE envelope
// carries, unverified: for publishing what was signed elsewhere; readers
// verify.
func bundleStatement(bundle []byte) ([]byte, error) {
	var b struct {
		DSSEEnvelope *struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: not a bundle with a DSSE envelope", attest.ErrMalformed)
	}
	return b.DSSEEnvelope.Payload, nil
}

// objectOf describes a document for the publish stores.
func objectOf(doc *openvex.VEX, subjects []attest.Subject, bundle []byte) (publish.Object, error) {
	body, err := vex.Marshal(doc)
	if err != nil {
		return publish.Object{}, err
	}
	obj := publish.Object{Bundle: bundle, Document: body}
	for _, s := range subjects {
		for alg, hex := range s.Digest {
			obj.Subjects = append(obj.Subjects, publish.Subject{Name: s.Name, Digest: publish.Digest{Algorithm: alg, Hex: hex}})
		}
	}
	for _, st := range doc.Statements {
		for _, pr := range st.Products {
			id := pr.ID
			if p, ok := pr.Identifiers[openvex.PURL]; ok {
				id = p
			}
			if purl.Is(id) && !slices.Contains(obj.Products, id) {
				obj.Products = append(obj.Products, id)
			}
		}
	}
	slices.Sort(obj.Products)
	return obj, nil
}

// localPublished is the project's content-addressed store of published
// documents.
func (p *project) localPublished(g *globals) (*publish.Local, error) {
	dir := filepath.Join(p.store.Dir(), "published")
	return publish.NewLocal(dir, g.now)
}

// publishStore opens a store named on the command line.
func (p *project) publishStore(ctx context.Context, g *globals, dest, feedURL string) (publish.Store, error) {
	switch {
	case dest == "local":
		return p.localPublished(g)
	case strings.HasPrefix(dest, "local:"):
		return publish.NewLocal(strings.TrimPrefix(dest, "local:"), g.now)
	case dest == "feed":
		return p.feed(g, feedURL)
	case strings.HasPrefix(dest, "feed:"):
		return p.feedIn(g, feedURL, strings.TrimPrefix(dest, "feed:"))
	case strings.HasPrefix(dest, "oci:"):
		return publish.NewOCI(strings.TrimPrefix(dest, "oci:"), g.now, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	case strings.HasPrefix(dest, "github:"):
		if strings.TrimSpace(g.getenv("GITHUB_TOKEN")) == "" {
			return nil, errors.New("publishing to GitHub needs GITHUB_TOKEN")
		}
		client, _, err := githubClient(ctx, g, nil, "", nil)
		if err != nil {
			return nil, err
		}
		return publish.NewGitHub(client, strings.TrimPrefix(dest, "github:"))
	}
	return nil, usageError("--to %q: want local[:DIR], feed[:DIR], oci:REF or github:OWNER/REPO", dest)
}

// feed is the project's vex-repo feed, generated from the local store and
// written to <vex dir>/feed.
func (p *project) feed(g *globals, baseURL string) (*publish.Feed, error) {
	return p.feedIn(g, baseURL, filepath.Join(p.vexDir(), "feed"))
}

// feedIn is the project's feed written to dir.
func (p *project) feedIn(g *globals, baseURL, dir string) (*publish.Feed, error) {
	local, err := p.localPublished(g)
	if err != nil {
		return nil, err
	}
	return publish.NewFeed(publish.FeedConfig{
		Name:        p.cfg.Project.Module,
		Description: "VEX for " + p.cfg.Project.Module + ", published by vexloom",
		Author:      p.author(),
		BaseURL:     baseURL,
		Dir:         dir,
		Format:      feedFormat(p),
	}, local)
}

func init() {
	serveExtras = append(serveExtras, func(p *project) (string, http.Handler) {
		return "/feed/", http.StripPrefix("/feed", p.feedHandler())
	})
}

// feedRefreshEvery bounds how stale the served feed can be: it is rebuilt
// from the local published store at most this often, on request.
const feedRefreshEvery = 10 * time.Second

// feedHandler serves the project's vex-repo feed, regenerated from the
// local published store as documents are published (by update, publish).
func (p *project) feedHandler() http.Handler {
	g := &globals{now: time.Now, env: os.Environ()}
	var (
		mu       sync.Mutex
		feed     *publish.Feed
		last     time.Time
		lastBase string
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The manifest points clients at the archive: at VEXLOOM_FEED_URL
		// when set (a proxy in front), else at the address the server
		// listens on. The request's Host header is the client's to write:
		// it never goes into the feed, and a request naming another host is
		// refused.
		base := g.getenv("VEXLOOM_FEED_URL")
		if base == "" {
			local, err := servedFeedURL(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusMisdirectedRequest)
				return
			}
			base = local
		}
		mu.Lock()
		if feed == nil || base != lastBase || time.Since(last) > feedRefreshEvery {
			lastBase = base
			f, err := p.feed(g, base)
			if err == nil {
				_, err = f.Refresh(r.Context())
			}
			if err != nil {
				mu.Unlock()
				http.Error(w, "the feed is not available: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			feed, last = f, time.Now()
		}
		h := feed.Handler()
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// errFeedHost: a feed request names a host the server does not answer for.
var errFeedHost = errors.New("host not served")

// servedFeedURL is the feed's URL at the local address a request came in
// on (127.0.0.1:8080, or localhost:8080 on a loopback address), when the
// request's Host is that address; otherwise errFeedHost: behind a proxy or
// a name, VEXLOOM_FEED_URL says where the feed is.
func servedFeedURL(r *http.Request) (string, error) {
	addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("%w: no local address for the request", errFeedHost)
	}
	scheme, defPort := "http", "80"
	if r.TLS != nil {
		scheme, defPort = "https", "443"
	}
	port := strconv.Itoa(tcp.Port)
	served := []string{net.JoinHostPort(tcp.IP.String(), port)}
	if tcp.IP.IsLoopback() {
		served = append(served, net.JoinHostPort("localhost", port))
	}
	host := strings.ToLower(r.Host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), defPort)
	}
	for _, h := range served {
		if host == h {
			return scheme + "://" + h + "/feed", nil
		}
	}
	return "", fmt.Errorf("%w: the feed is served as %s; set VEXLOOM_FEED_URL to the URL clients use", errFeedHost, strings.Join(served, " or "))
}
