package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/advisory"
	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/redact"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/vex"
)

func init() { commands = append(commands, newGateCmd) }

// maxVEXFiles bounds the files read from one --vex directory.
const maxVEXFiles = 10_000

// publishedDir is where `vexloom publish` keeps the local store of signed
// documents, inside the project's store directory.
const publishedDir = "published"

type gateFlags struct {
	pf            projectFlags
	release       string
	scanFile      string
	vex           []string
	key           string
	identity      string
	issuer        string
	trustedRoot   string
	allowUnsigned bool
	policy        string
	format        string
	attestResult  string
	signingKey    string
	subjects      []string
}

func newGateCmd(g *globals) *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate [--release REF | --scan FILE] [--vex FILE|DIR|store|oci:REF|feed:URL]... (--key FILE | --certificate-identity REGEX --certificate-oidc-issuer URL | --allow-unsigned) [--policy FILE] [--format table|json|sarif] [--attest-result FILE --signing-key FILE]",
		Short: "Decide whether a release may ship: no reachable vulnerability without a verified statement",
		Long: `The release gate. It reads what is vulnerable in a release and the VEX
statements about it, and fails (exit 3) while a vulnerability reached by the
code (symbol level) has no applicable statement saying not_affected or fixed.
Everything else is reported. A policy file (--policy, CEL rules; see
internal/gate/POLICY.md) tightens or loosens the rule.

What is vulnerable:
  --release REF   a tag or commit on a maintained branch of the project: the
                  release commit is scanned (from the cache when scanned
                  before), and the project's own advisories recorded by
                  "vexloom advisories sync" that say the release is affected
                  are findings too, at symbol level (the project itself is
                  the vulnerable code). Products are the project's modules at
                  the release version.
  --scan FILE     scanner results: vexloom scan JSON, govulncheck -json
                  output or OSV-Scanner JSON results.

Where statements come from (--vex, repeatable):
  FILE            a Sigstore bundle (.sigstore.json), or a plain OpenVEX
                  document or in-toto statement (unsigned)
  DIR             every .json file under it
  store           the documents published to the project's local store
                  (vexloom publish)
  oci:REF         the bundles attached to an image as OCI referrers
  feed:URL        a VEX repository (aquasecurity's vex-repo spec); its
                  documents carry no signature

Only statements whose signature verifies count:
  --key FILE      the PEM public key the VEX must be signed with
  --certificate-identity REGEX --certificate-oidc-issuer URL
                  keyless: the signer's certificate identity (a Go regular
                  expression matched in full) and OIDC issuer; the trusted
                  root is --trusted-root FILE, else Sigstore's public-good
                  root (fetched through TUF)
  --allow-unsigned
                  count unsigned and unverified statements too
Unsigned statements, and bundles whose signature does not verify, are
reported (with the reason) and ignored unless --allow-unsigned is given. One
of the three must be given.

The decision is auditable: --attest-result FILE writes the result as an
in-toto statement (predicate type ` + gate.PredicateType + `) signed
into a Sigstore bundle with --signing-key FILE, a PEM private key (cosign's
encrypted format reads its password from $VEXLOOM_KEY_PASSWORD or
$COSIGN_PASSWORD). --key is only
ever the public key that verifies VEX; the two are never the same flag. The
attestation's subjects are each --subject FILE, else the release commit
(--release) or the scan results file (--scan).

Exit status: 0 the release may ship, 3 the gate failed, 1 an error, 2 bad
usage.`,
		Example: `  vexloom gate --release v1.2.0 --vex store --key cosign.pub
  vexloom gate --scan govulncheck.json --vex vex/ --allow-unsigned --format sarif
  vexloom gate --release v1.2.0 --vex oci:registry.example.com/app:v1.2.0 \
      --certificate-identity 'https://github.com/org/repo/.*' \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com \
      --attest-result gate.sigstore.json --signing-key gate.key`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd, g, &f)
		},
	}
	f.pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.release, "release", "", "the release point: a `tag` or commit on a maintained branch")
	fl.StringVar(&f.scanFile, "scan", "", "scanner results `file` (vexloom, govulncheck or OSV-Scanner JSON) instead of --release")
	fl.StringArrayVar(&f.vex, "vex", nil, "where VEX comes from: a `FILE`, a DIR, store, oci:REF or feed:URL (repeatable)")
	fl.StringVar(&f.key, "key", "", "PEM public key `file` that VEX bundles must be signed with")
	fl.StringVar(&f.identity, "certificate-identity", "", "keyless: `regex` the signing certificate's identity must match in full")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer `URL` of the signing certificate")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root `file` (default: the public-good root, fetched)")
	fl.BoolVar(&f.allowUnsigned, "allow-unsigned", false, "count unsigned and unverified statements too")
	fl.StringVar(&f.policy, "policy", "", "policy `file` of CEL rules (see POLICY.md)")
	fl.StringVarP(&f.format, "format", "f", "table", "output format: table, json or sarif")
	fl.StringVar(&f.attestResult, "attest-result", "", "write the signed result attestation (Sigstore bundle) to `file`")
	fl.StringVar(&f.signingKey, "signing-key", "", "PEM private key `file` that signs the result attestation")
	fl.StringArrayVar(&f.subjects, "subject", nil, "a release artifact `file` the result attestation is about (repeatable)")
	return cmd
}

// check validates the flags' combinations (exit 2).
func (f *gateFlags) check() (gate.OutputFormat, error) {
	format, err := gate.ParseOutputFormat(f.format)
	if err != nil {
		return "", usageError("--format: %v", err)
	}
	switch {
	case f.release != "" && f.scanFile != "":
		return "", usageError("give --release or --scan, not both")
	case f.release == "" && f.scanFile == "":
		return "", usageError("give what to gate: --release REF or --scan FILE")
	case f.key != "" && (f.identity != "" || f.issuer != ""):
		return "", usageError("give --key or --certificate-identity with --certificate-oidc-issuer, not both")
	case (f.identity == "") != (f.issuer == ""):
		return "", usageError("--certificate-identity and --certificate-oidc-issuer go together")
	case f.key == "" && f.identity == "" && !f.allowUnsigned:
		return "", usageError("say which VEX counts: --key FILE, --certificate-identity REGEX with --certificate-oidc-issuer URL, or --allow-unsigned")
	case f.trustedRoot != "" && f.identity == "":
		return "", usageError("--trusted-root is for keyless verification (--certificate-identity)")
	case (f.attestResult == "") != (f.signingKey == ""):
		return "", usageError("--attest-result and --signing-key go together: the result attestation is always signed")
	case len(f.subjects) > 0 && f.attestResult == "":
		return "", usageError("--subject is for --attest-result")
	}
	if f.identity != "" {
		if _, err := regexp.Compile(f.identity); err != nil {
			return "", usageError("--certificate-identity: %v", err)
		}
	}
	for _, v := range f.vex {
		if v == "" {
			return "", usageError("--vex: an empty source")
		}
	}
	return format, nil
}

func runGate(cmd *cobra.Command, g *globals, f *gateFlags) error {
	format, err := f.check()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	prog := g.progress(cmd)
	stderr := cmd.ErrOrStderr()
	now, err := g.timestamp()
	if err != nil {
		return err
	}
	var policy *gate.Policy
	if f.policy != "" {
		data, err := infile.Read(ctx, f.policy, gate.MaxPolicySize)
		if err != nil {
			return fmt.Errorf("reading the policy: %w", err)
		}
		if policy, err = gate.ParsePolicy(data, filepath.Base(f.policy)); err != nil {
			return err
		}
	}
	verifier, err := f.verifier()
	if err != nil {
		return err
	}
	// The signing key is read before any work, so that a bad key fails fast.
	var signer *attest.PrivateKey
	if f.signingKey != "" {
		if signer, err = loadResultSigner(f.signingKey, g); err != nil {
			return err
		}
	}

	var (
		p        *project
		findings []gate.Finding
		products []string
		subjects []gate.Subject
	)
	openProject := func() (*project, error) {
		if p != nil {
			return p, nil
		}
		var err error
		p, err = f.pf.open(ctx, g, false)
		return p, err
	}
	defer func() {
		if p != nil {
			p.Close()
		}
	}()
	// published is the directory of the project's local store of published
	// documents.
	published := func() (string, error) {
		p, err := openProject()
		if err != nil {
			return "", err
		}
		return filepath.Join(p.store.Dir(), publishedDir), nil
	}
	if f.release != "" {
		if _, err := openProject(); err != nil {
			return err
		}
		rel, err := releaseFindings(ctx, g, cmd, p, f.release)
		if err != nil {
			return err
		}
		findings, products = rel.findings, rel.products
		verifier.releaseCommit = rel.commit
		subjects = append(subjects, gate.Subject{Name: "git+" + p.cfg.RepositorySpec() + "@" + f.release, Digest: map[string]string{"gitCommit": rel.commit}})
	} else {
		data, err := infile.Read(ctx, f.scanFile, gate.MaxInputSize)
		if err != nil {
			return fmt.Errorf("reading the scan results: %w", err)
		}
		fs, format, err := gate.ReadFindings(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", f.scanFile, err)
		}
		prog.Printf("%s: %d findings (%s)", f.scanFile, len(fs), format)
		findings = fs
		sum := sha256.Sum256(data)
		subjects = append(subjects, gate.Subject{Name: filepath.Base(f.scanFile), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}})
	}

	var statements []gate.Statement
	for _, src := range f.vex {
		sts, extra, err := loadVEX(ctx, g, src, verifier, published, stderr)
		if err != nil {
			return err
		}
		statements = append(statements, sts...)
		products = append(products, extra...)
	}
	slices.Sort(products)
	products = slices.Compact(products)

	res, err := gate.Evaluate(findings, statements, gate.Options{
		Release:       f.release,
		Products:      products,
		Policy:        policy,
		AllowUnsigned: f.allowUnsigned,
		Now:           now,
	})
	if err != nil {
		return err
	}
	if err := res.Write(cmd.OutOrStdout(), format); err != nil {
		return err
	}
	if f.attestResult != "" {
		if len(f.subjects) > 0 {
			subjects = subjects[:0]
			for _, s := range f.subjects {
				d, err := fileSHA256(ctx, s)
				if err != nil {
					return fmt.Errorf("--subject: %w", err)
				}
				subjects = append(subjects, gate.Subject{Name: filepath.Base(s), Digest: map[string]string{"sha256": d}})
			}
		}
		st, err := res.Attestation(subjects)
		if err != nil {
			return err
		}
		b, err := attest.SignStatement(ctx, st, signer)
		if err != nil {
			return err
		}
		if err := writeOutput(cmd.OutOrStdout(), f.attestResult, func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		}); err != nil {
			return err
		}
		prog.Printf("signed result attestation → %s (key %s)", f.attestResult, signer.KeyID())
	}
	if err := res.Err(); err != nil {
		return &exitError{code: ExitPolicy, err: err}
	}
	return nil
}

// releaseGate is what the gate weighs about a release point.
type releaseGate struct {
	commit   string
	findings []gate.Finding
	products []string
}

// releaseFindings scans the release commit and adds the project's own
// advisories that say the release is affected.
func releaseFindings(ctx context.Context, g *globals, cmd *cobra.Command, p *project, ref string) (*releaseGate, error) {
	prog := g.progress(cmd)
	sdb, scanner, err := p.scanner(ctx, g, prog)
	if err != nil {
		return nil, err
	}
	repo, err := p.openRepository(ctx, g, prog)
	if err != nil {
		return nil, err
	}
	maintained, err := repo.MatchBranches(ctx, p.cfg.Branches)
	if err != nil {
		return nil, err
	}
	c, err := repo.ResolveRevision(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(maintained, func(b string) bool { return repo.Contains(ctx, b, c.Hash) }) {
		return nil, fmt.Errorf("%s (%s) is on none of the maintained branches (%s)", ref, shortHash(c.Hash), strings.Join(maintained, ", "))
	}
	prog.Printf("release %s: commit %s", ref, shortHash(c.Hash))
	t, err := scanner.ScanCommit(ctx, repo, "", c)
	if err != nil {
		return nil, err
	}
	// The scan goes through vexloom's own report, which the gate reads like
	// any other scanner's: the same conversion for --release and --scan.
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, report.Build(sdb, []*scan.Target{t}, g.now())); err != nil {
		return nil, err
	}
	findings, _, err := gate.ReadFindings(&buf)
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", ref, err)
	}
	out := &releaseGate{commit: c.Hash, findings: findings}
	version := ""
	for _, m := range t.Modules {
		if m.Path == "" || m.Version == "" {
			continue
		}
		out.products = append(out.products, purl.Go(m.Path, m.Version))
		if m.Path == p.cfg.Project.Module {
			version = m.Version
		}
	}
	advs, err := advisory.List(ctx, p.store)
	if err != nil {
		return nil, err
	}
	for _, a := range advs {
		// What the advisory says about this release: its statement for the
		// ref itself, else one for another ref at the same version (a tag
		// at a branch's tip).
		var chosen *advisory.Statement
		for i, s := range a.Statements {
			if s.Withdrawn {
				continue
			}
			if s.Product.Ref == ref {
				chosen = &a.Statements[i]
				break
			}
			if chosen == nil && version != "" && s.Product.Version == version {
				chosen = &a.Statements[i]
			}
		}
		if chosen == nil {
			continue
		}
		prog.Printf("advisory %s says %s is %s", a.ID, chosen.Product.Ref, chosen.Status)
		if chosen.Status == openvex.StatusAffected && version != "" {
			out.findings = append(out.findings, advisoryFinding(p.cfg.Project.Module, version, a, *chosen))
		}
	}
	return out, nil
}

// advisoryFinding is a finding of the project's own advisory: the project
// itself is the vulnerable code, so it counts as reached (symbol level).
func advisoryFinding(mod, version string, a advisory.Advisory, s advisory.Statement) gate.Finding {
	f := gate.Finding{
		ID:           a.ID,
		Aliases:      slices.Clone(a.Aliases),
		Ecosystem:    "Go",
		Module:       mod,
		Version:      version,
		Level:        scan.LevelSymbol,
		FixedVersion: s.Fix,
		Product:      purl.Go(mod, version),
		Published:    a.Published,
		Modified:     a.Modified,
	}
	slices.Sort(f.Aliases)
	f.Aliases = slices.Compact(f.Aliases)
	for _, sv := range a.Severity {
		if strings.HasPrefix(sv.Score, "CVSS:3") {
			f.Severity.Vector = sv.Score
		}
	}
	return f
}

// vexVerifier checks bundles against the configured key or identity; a nil
// policy verifies nothing (--allow-unsigned alone).
type vexVerifier struct {
	policy *attest.Policy
	// allowUnsigned: unverified statements count too (--allow-unsigned).
	allowUnsigned bool
	// releaseCommit is the commit of the release gated (--release): the
	// digest a statement about the project's module must be signed for.
	releaseCommit string
}

// unverifiedVerdict says what happens to statements that did not verify.
func (v *vexVerifier) unverifiedVerdict() string {
	if v.allowUnsigned {
		return "counted anyway (--allow-unsigned)"
	}
	return "ignored unless --allow-unsigned"
}

func (f *gateFlags) verifier() (*vexVerifier, error) {
	v, err := f.verifierFor()
	if v != nil {
		v.allowUnsigned = f.allowUnsigned
	}
	return v, err
}

func (f *gateFlags) verifierFor() (*vexVerifier, error) {
	switch {
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading --key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w (it is the public key that verifies VEX; the result is signed with --signing-key)", f.key, err)
		}
		return &vexVerifier{policy: &attest.Policy{PublicKey: pub, WithoutArtifact: true}}, nil
	case f.identity != "":
		var (
			tm  root.TrustedMaterial
			err error
		)
		if f.trustedRoot != "" {
			tm, err = readTrustedRoot(f.trustedRoot)
			if err != nil {
				return nil, fmt.Errorf("reading --trusted-root: %w", err)
			}
		} else {
			tm, err = root.FetchTrustedRoot()
			if err != nil {
				return nil, fmt.Errorf("fetching Sigstore's public-good trusted root (give --trusted-root FILE offline): %w", err)
			}
		}
		return &vexVerifier{policy: &attest.Policy{
			Identity:        &attest.Identity{Issuer: f.issuer, SubjectRegexp: f.identity},
			TrustedMaterial: tm,
			WithoutArtifact: true,
		}}, nil
	}
	return &vexVerifier{}, nil
}

// bundle reads a Sigstore bundle: the statements about the artifacts the
// gate weighs, verified, when it verifies for them; everything else in it
// unverified (counted only with --allow-unsigned), with the reason. The
// artifacts are digests when given (an image's platform), else the release
// commit (for the module product) and the image platforms and binaries the
// document names by digest: a statement counts for an artifact only when the
// bundle's subjects include that artifact's digest.
func (v *vexVerifier) bundle(ctx context.Context, data []byte, src gate.Source, origin string, digests []attest.Digest) ([]gate.Statement, string, error) {
	if v.policy == nil {
		doc, err := unverifiedBundle(data)
		if err != nil {
			return nil, "", err
		}
		return gate.FromOpenVEX(doc, false, src, origin), "not verified (no --key or --certificate-identity given)", nil
	}
	doc, err := unverifiedBundle(data)
	if err != nil {
		return nil, "", err
	}
	asked := digests
	if len(asked) == 0 {
		asked = v.artifactDigests(doc)
	}
	if len(asked) == 0 {
		return gate.FromOpenVEX(doc, false, src, origin), "REJECTED: " + fmt.Errorf("%w: the bundle names no artifact the gate knows (a module product is bound to the release commit: gate it with --release)", attest.ErrSubject).Error(), nil
	}
	pol := *v.policy
	pol.ArtifactDigests, pol.WithoutArtifact, pol.AnyArtifact = asked, false, true
	res, err := attest.Verify(ctx, data, pol)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if errors.Is(err, attest.ErrMalformed) || errors.Is(err, attest.ErrPredicate) {
			return nil, "", err
		}
		return gate.FromOpenVEX(doc, false, src, origin), "REJECTED: " + err.Error(), nil
	}
	out := gate.FromOpenVEX(res.VEX, true, src, origin)
	what := "verified, signed by " + res.SignedBy
	if res.Dropped > 0 {
		// What the bundle says about other artifacts is not verified for
		// these: it is reported, and ignored like any unverified statement.
		verified := map[string]bool{}
		for _, st := range out {
			verified[statementKey(st)] = true
		}
		for _, st := range gate.FromOpenVEX(doc, false, src, origin) {
			if !verified[statementKey(st)] {
				out = append(out, st)
			}
		}
		what += fmt.Sprintf("; %d %s about artifacts that are not its subjects (%v)", res.Dropped, plural(res.Dropped, "product statement"), attest.ErrSubject)
	}
	return out, what, nil
}

// statementKey identifies one product statement of a document.
func statementKey(s gate.Statement) string {
	return s.Vulnerability + "\x00" + strings.Join(s.Products, "\x00") + "\x00" + strings.Join(s.Subcomponents, "\x00")
}

// artifactDigests are the artifacts a bundle's statements may be verified
// for: the release commit (the module product's), and each image platform
// (the digest of a pkg:oci product) or binary (the hashes of a product that
// is not a Go module) the document names.
func (v *vexVerifier) artifactDigests(doc *openvex.VEX) []attest.Digest {
	var out []attest.Digest
	add := func(s string) {
		if d, err := attest.ParseDigest(s); err == nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if v.releaseCommit != "" {
		add(attest.GitCommit + ":" + v.releaseCommit)
	}
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			for _, id := range []string{p.ID, p.Identifiers[openvex.PURL]} {
				if d := purl.OCIDigest(id); d != "" {
					add(d)
				}
			}
			if purl.IsGo(p.ID) || purl.IsGo(p.Identifiers[openvex.PURL]) {
				continue
			}
			for alg, h := range p.Hashes {
				add(string(alg) + ":" + string(h))
			}
		}
	}
	return out
}

// unverifiedBundle reads the OpenVEX document of a bundle without checking
// its signature.
func unverifiedBundle(data []byte) (*openvex.VEX, error) {
	if len(data) > attest.MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle of %d bytes", attest.ErrMalformed, len(data))
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", attest.ErrMalformed, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: the bundle holds no DSSE attestation", attest.ErrMalformed)
	}
	doc, _, err := attest.ReadStatement(env.GetPayload())
	return doc, err
}

// vexKind says what a JSON file holds.
type vexKind int

const (
	kindUnknown vexKind = iota
	kindBundle
	kindStatement
	kindOpenVEX
)

func detectVEX(data []byte) vexKind {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return kindUnknown
	}
	if mt, ok := top["mediaType"]; ok {
		var s string
		if json.Unmarshal(mt, &s) == nil && strings.HasPrefix(s, "application/vnd.dev.sigstore.bundle") {
			return kindBundle
		}
	}
	if _, ok := top["_type"]; ok {
		return kindStatement
	}
	if _, ok := top["statements"]; ok {
		return kindOpenVEX
	}
	if _, ok := top["@context"]; ok {
		return kindOpenVEX
	}
	return kindUnknown
}

// errNotVEX marks a file that holds no VEX.
var errNotVEX = errors.New("not a Sigstore bundle, an in-toto statement or an OpenVEX document")

// readVEXData reads statements from one document's bytes.
func readVEXData(ctx context.Context, v *vexVerifier, data []byte, src gate.Source, origin string) ([]gate.Statement, string, error) {
	switch detectVEX(data) {
	case kindBundle:
		return v.bundle(ctx, data, src, origin, nil)
	case kindStatement:
		doc, _, err := attest.ReadStatement(data)
		if err != nil {
			return nil, "", err
		}
		return gate.FromOpenVEX(doc, false, src, origin), "unsigned in-toto statement: not verified", nil
	case kindOpenVEX:
		doc, err := vex.Parse(data)
		if err != nil {
			return nil, "", err
		}
		return gate.FromOpenVEX(doc, false, src, origin), "unsigned OpenVEX: not verified", nil
	}
	return nil, "", errNotVEX
}

// loadVEX reads one --vex source. extra are release products the source
// adds (an image asked for by digest).
func loadVEX(ctx context.Context, g *globals, spec string, v *vexVerifier, published func() (string, error), stderr io.Writer) (sts []gate.Statement, extra []string, err error) {
	note := func(origin string, n int, what string) {
		verdict := "counts"
		if len(sts) > 0 && !sts[len(sts)-1].Verified {
			verdict = v.unverifiedVerdict()
		}
		if n == 0 {
			verdict = "no statements"
		}
		fmt.Fprintf(stderr, "vex: %s: %d %s, %s; %s\n", origin, n, plural(n, "statement"), what, verdict)
	}
	add := func(origin string, got []gate.Statement, what string) {
		sts = append(sts, got...)
		note(origin, len(got), what)
	}
	switch {
	case spec == "store":
		dir, err := published()
		if err != nil {
			return nil, nil, fmt.Errorf("--vex store: %w", err)
		}
		if _, err := os.Stat(dir); err != nil {
			fmt.Fprintf(stderr, "vex: store: nothing published in %s yet (vexloom publish)\n", dir)
			return nil, nil, nil
		}
		local, err := publish.NewLocal(dir, g.now)
		if err != nil {
			return nil, nil, err
		}
		recs, err := local.List(ctx, publish.Query{})
		if err != nil {
			return nil, nil, fmt.Errorf("--vex store: %w", err)
		}
		for _, r := range recs {
			origin := "published " + r.ID
			var got []gate.Statement
			var what string
			if r.Object.Bundle != nil {
				got, what, err = v.bundle(ctx, r.Object.Bundle, gate.SourceStore, origin, nil)
			} else {
				got, what, err = readVEXData(ctx, v, r.Object.Document, gate.SourceStore, origin)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("--vex store: %s: %w", r.ID, err)
			}
			add(origin, got, what)
		}
		return sts, nil, nil
	case strings.HasPrefix(spec, "oci:"):
		return loadOCI(ctx, g, strings.TrimPrefix(spec, "oci:"), v, stderr)
	case strings.HasPrefix(spec, "feed:"):
		got, err := loadFeed(ctx, strings.TrimPrefix(spec, "feed:"), stderr)
		return got, nil, err
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("--vex %s: %w", spec, err)
	}
	if !fi.IsDir() {
		data, err := infile.Read(ctx, spec, attest.MaxBundleSize)
		if err != nil {
			return nil, nil, fmt.Errorf("--vex %s: %w", spec, err)
		}
		got, what, err := readVEXData(ctx, v, data, gate.SourceFile, spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--vex %s: %w", spec, err)
		}
		add(spec, got, what)
		return sts, nil, nil
	}
	n := 0
	err = filepath.WalkDir(spec, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != spec && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".json") || !d.Type().IsRegular() {
			return nil
		}
		if n++; n > maxVEXFiles {
			return fmt.Errorf("more than %d files", maxVEXFiles)
		}
		data, err := infile.Read(ctx, path, attest.MaxBundleSize)
		if err != nil {
			return err
		}
		got, what, err := readVEXData(ctx, v, data, gate.SourceFile, path)
		if errors.Is(err, errNotVEX) {
			fmt.Fprintf(stderr, "vex: %s: skipped, %v\n", path, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		add(path, got, what)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--vex %s: %w", spec, err)
	}
	return sts, nil, nil
}

// loadOCI reads the bundles attached to an image: each must verify with
// the image's digest among its subjects. The image's own package URLs in
// verified statements become release products.
func loadOCI(ctx context.Context, g *globals, ref string, v *vexVerifier, stderr io.Writer) ([]gate.Statement, []string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("--vex oci:%s: %w", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	// The attestations hang off each platform's manifest (they are its
	// subjects); a multi-arch index is expanded, and the index itself is
	// looked at too.
	var digests []string
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("--vex oci:%s: resolving the image: %w", ref, err)
	}
	digests = append(digests, desc.Digest.String())
	if desc.MediaType.IsIndex() {
		plats, err := artifact.ResolveImage(ctx, ref, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("--vex oci:%s: %w", ref, err)
		}
		for _, p := range plats {
			digests = append(digests, p.Digest)
		}
	}
	store, err := publish.NewOCI(r.Context().Name(), g.now, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, nil, err
	}
	var (
		out   []gate.Statement
		extra []string
		found int
	)
	for _, digest := range digests {
		pd, err := publish.ParseDigest(digest)
		if err != nil {
			return nil, nil, err
		}
		atts, err := store.Referrers(ctx, pd)
		if err != nil {
			return nil, nil, fmt.Errorf("--vex oci:%s: %w", ref, err)
		}
		ad, err := attest.ParseDigest(digest)
		if err != nil {
			return nil, nil, err
		}
		found += len(atts)
		for _, a := range atts {
			origin := r.Context().Name() + "@" + digest + " referrer " + a.Manifest
			got, what, err := v.bundle(ctx, a.Bundle, gate.SourceOCI, origin, []attest.Digest{ad})
			if err != nil {
				fmt.Fprintf(stderr, "vex: %s: skipped, %v\n", origin, err)
				continue
			}
			verdict := "counts"
			if len(got) > 0 && !got[0].Verified {
				verdict = v.unverifiedVerdict()
			}
			fmt.Fprintf(stderr, "vex: %s: %d %s, %s; %s\n", origin, len(got), plural(len(got), "statement"), what, verdict)
			for _, s := range got {
				for _, pr := range s.Products {
					if s.Verified && purl.OCIDigest(pr) == digest {
						extra = append(extra, pr)
					}
				}
			}
			out = append(out, got...)
		}
	}
	if found == 0 {
		fmt.Fprintf(stderr, "vex: oci:%s: no bundles attached to %s\n", ref, strings.Join(digests, ", "))
	}
	return out, extra, nil
}

// loadResultSigner loads the key that signs the gate's result.
func loadResultSigner(path string, g *globals) (*attest.PrivateKey, error) {
	data, err := readBounded(path, attest.MaxKeySize)
	if err != nil {
		return nil, fmt.Errorf("reading --signing-key: %w", err)
	}
	k, err := attest.LoadPrivateKey(data, keyPassword(g))
	if err != nil {
		return nil, fmt.Errorf("--signing-key %s: %w", path, err)
	}
	return k, nil
}

// readBounded reads a regular file of at most limit bytes, for callers
// without a context (keys, read before any work): infile.Read, which
// refuses FIFOs and devices rather than wait on them.
func readBounded(path string, limit int64) ([]byte, error) {
	return infile.Read(context.Background(), path, limit)
}

// maxTrustedRoot bounds a Sigstore trusted root file.
const maxTrustedRoot = 8 << 20

// readTrustedRoot reads a Sigstore trusted_root.json through the bounded
// reader (sigstore-go's own reader reads any file whole).
func readTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := readBounded(path, maxTrustedRoot)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(data)
}

func fileSHA256(ctx context.Context, path string) (string, error) {
	h := sha256.New()
	if _, err := infile.Copy(ctx, h, path); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Bounds on what is read from a VEX repository.
const (
	maxFeedManifest = 1 << 20
	maxFeedArchive  = 512 << 20
	maxFeedEntries  = 100_000
)

// loadFeed reads a VEX repository as aquasecurity's vex-repo specification
// lays it out (what Trivy reads and `vexloom publish` serves): the manifest
// at URL/.well-known/vex-repository.json (or URL itself when it names a
// .json file), the tar.gz archive of its spec 0.1 location, the archive's
// index.json and the document of each package. The specification carries
// no signatures, so no statement from a feed is verified.
func loadFeed(ctx context.Context, base string, stderr io.Writer) ([]gate.Statement, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usageError("--vex feed:%s: want an http(s) URL", base)
	}
	client := &http.Client{Timeout: advisoryTimeout}
	manifestURL := u
	if !strings.HasSuffix(u.Path, ".json") {
		manifestURL = u.JoinPath(publish.FeedManifestPath)
	}
	raw, err := httpGet(ctx, client, manifestURL.String(), maxFeedManifest)
	if err != nil {
		return nil, fmt.Errorf("--vex feed:%s: %w", base, err)
	}
	var manifest struct {
		Versions []struct {
			SpecVersion string `json:"spec_version"`
			Locations   []struct {
				URL string `json:"url"`
			} `json:"locations"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("--vex feed:%s: the manifest: %w", base, err)
	}
	archiveURL := ""
	for _, v := range manifest.Versions {
		if v.SpecVersion == publish.FeedSpecVersion && len(v.Locations) > 0 {
			archiveURL = v.Locations[0].URL
			break
		}
	}
	if archiveURL == "" {
		return nil, fmt.Errorf("--vex feed:%s: the manifest names no location for spec version %s", base, publish.FeedSpecVersion)
	}
	au, err := manifestURL.Parse(archiveURL)
	if err != nil || (au.Scheme != "https" && au.Scheme != "http") {
		return nil, fmt.Errorf("--vex feed:%s: archive location %q is not an http(s) URL", base, archiveURL)
	}
	archive, err := httpGet(ctx, client, au.String(), maxFeedArchive)
	if err != nil {
		return nil, fmt.Errorf("--vex feed:%s: %w", base, err)
	}
	files, err := untarGz(archive)
	if err != nil {
		return nil, fmt.Errorf("--vex feed:%s: the archive: %w", base, err)
	}
	var index struct {
		Packages []struct {
			ID       string `json:"id"`
			Location string `json:"location"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(files[publish.FeedIndexPath], &index); err != nil {
		return nil, fmt.Errorf("--vex feed:%s: %s: %w", base, publish.FeedIndexPath, err)
	}
	var out []gate.Statement
	for _, pkg := range index.Packages {
		loc := path.Clean(strings.TrimPrefix(pkg.Location, "./"))
		data, ok := files[loc]
		if !ok {
			fmt.Fprintf(stderr, "vex: feed:%s: %s: no document at %s\n", base, pkg.ID, pkg.Location)
			continue
		}
		doc, err := vex.Parse(data)
		if err != nil {
			fmt.Fprintf(stderr, "vex: feed:%s: %s: skipped, %v\n", base, pkg.Location, err)
			continue
		}
		out = append(out, gate.FromOpenVEX(doc, false, gate.SourceFeed, base+" "+loc)...)
	}
	fmt.Fprintf(stderr, "vex: feed:%s: %d %s in %d documents, unsigned (a VEX repository carries no signatures); ignored unless --allow-unsigned\n",
		base, len(out), plural(len(out), "statement"), len(index.Packages))
	return out, nil
}

// httpGet fetches a URL, reading at most limit bytes.
func httpGet(ctx context.Context, client *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redactedURL(u), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactedURL(u), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: more than %d bytes", redactedURL(u), limit)
	}
	return data, nil
}

func redactedURL(s string) string { return redact.Location(s) }

// untarGz reads the regular files of a tar.gz archive by cleaned path.
func untarGz(data []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(io.LimitReader(zr, maxFeedArchive))
	files := map[string][]byte{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if n >= maxFeedEntries {
			return nil, fmt.Errorf("more than %d entries", maxFeedEntries)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > vex.MaxDocumentSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", h.Name, vex.MaxDocumentSize)
		}
		b, err := io.ReadAll(io.LimitReader(tr, vex.MaxDocumentSize))
		if err != nil {
			return nil, err
		}
		files[path.Clean(strings.TrimPrefix(h.Name, "./"))] = b
	}
}
