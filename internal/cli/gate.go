package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/release"
)

func init() { commands = append(commands, newGateCmd) }

// publishedDir is where `vexloom publish` keeps the local store of signed
// documents, inside the project's store directory.
const publishedDir = "published"

type gateFlags struct {
	pf           projectFlags
	release      string
	scanFile     string
	vex          []string
	trust        vexTrustFlags
	policy       string
	format       string
	attestResult string
	signingKey   string
	subjects     []string
}

func newGateCmd(g *globals) *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate [--release REF | --scan FILE] [--vex FILE|DIR|store|local:DIR|oci:REF|github:OWNER/REPO|feed:URL|feed:DIR]... (--key FILE | --certificate-identity REGEX --certificate-oidc-issuer URL | --allow-unsigned) [--policy FILE] [--format table|json|sarif] [--attest-result FILE --signing-key FILE]",
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
                  (vexloom publish); local:DIR another local store
  oci:REF         the bundles attached to an image as OCI referrers
  github:OWNER/REPO
                  the repository's artifact attestations on GitHub about
                  the release commit (--release; GITHUB_TOKEN)
  feed:URL        a VEX repository (aquasecurity's vex-repo spec), or
  feed:DIR        one written to a directory; its documents carry no
                  signature

` + vexTrustHelp + `
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
	fl.StringArrayVar(&f.vex, "vex", nil, "where VEX comes from: a `FILE`, a DIR, store, local:DIR, oci:REF, github:OWNER/REPO or feed:URL|DIR (repeatable)")
	f.trust.register(fl)
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
	}
	if err := f.trust.check(); err != nil {
		return "", err
	}
	switch {
	case (f.attestResult == "") != (f.signingKey == ""):
		return "", usageError("--attest-result and --signing-key go together: the result attestation is always signed")
	case len(f.subjects) > 0 && f.attestResult == "":
		return "", usageError("--subject is for --attest-result")
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
	ctx, prog, stderr := cmd.Context(), g.progress(cmd), cmd.ErrOrStderr()
	now, err := g.timestamp()
	if err != nil {
		return err
	}
	var policy *gate.CELPolicy
	if f.policy != "" {
		if policy, err = gate.ReadPolicyFile(ctx, f.policy); err != nil {
			return err
		}
	}
	verifier, err := f.trust.verifier(stderr)
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
	var p *project
	defer func() {
		if p != nil {
			p.Close()
		}
	}()
	openProject := func() (*project, error) {
		if p == nil {
			var err error
			if p, err = f.pf.open(ctx, g, false); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	sources, err := openVEXSources(ctx, g, "--vex", f.vex, stderr, func() (string, error) {
		p, err := openProject()
		if err != nil {
			return "", err
		}
		return filepath.Join(p.store.Dir(), publishedDir), nil
	})
	if err != nil {
		return err
	}

	var (
		findings []gate.Finding
		products []string
		subject  gate.Subject
	)
	if f.release != "" {
		if _, err := openProject(); err != nil {
			return err
		}
		o, err := p.releaseOptions(ctx, g, prog, f.release)
		if err != nil {
			return err
		}
		o.Now = g.now()
		rel, err := release.GateFindings(ctx, o, p.cfg.Project.Module)
		if err != nil {
			return err
		}
		findings, products, verifier.ReleaseCommit = rel.Findings, rel.Products, rel.Commit
		subject = gate.CommitSubject(p.cfg.RepositorySpec(), f.release, rel.Commit)
	} else {
		var format gate.Format
		if findings, format, subject, err = gate.ReadScanFile(ctx, f.scanFile); err != nil {
			return err
		}
		prog.Printf("%s: %d findings (%s)", f.scanFile, len(findings), format)
	}
	res, err := verifier.Decide(ctx, findings, sources, gate.Options{Release: f.release, Products: products, Policy: policy, Now: now})
	var se *gate.SourceError
	switch {
	case errors.Is(err, gate.ErrNoArtifact):
		return usageError("--vex %v", err)
	case errors.As(err, &se):
		return fmt.Errorf("--vex %w", err)
	case err != nil:
		return err
	}
	if err := res.Write(cmd.OutOrStdout(), format); err != nil {
		return err
	}
	if f.attestResult != "" {
		b, err := res.SignedAttestation(ctx, subject, f.subjects, signer)
		if err != nil {
			return err
		}
		if err := writeBytes(cmd.OutOrStdout(), f.attestResult, b); err != nil {
			return err
		}
		prog.Printf("signed result attestation → %s (key %s)", f.attestResult, signer.KeyID())
	}
	if err := res.Err(); err != nil {
		return &exitError{code: ExitPolicy, err: err}
	}
	return nil
}
