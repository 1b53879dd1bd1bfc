package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/infile"
)

// ReadScanFile reads scanner results from a file named from outside
// (regular, bounded, cancellable) as ReadFindings does, and returns the
// file as the subject a result attestation is about.
func ReadScanFile(ctx context.Context, path string) ([]Finding, Format, Subject, error) {
	data, err := infile.Read(ctx, path, MaxInputSize)
	if err != nil {
		return nil, "", Subject{}, fmt.Errorf("reading the scan results: %w", err)
	}
	fs, format, err := ReadFindings(bytes.NewReader(data))
	if err != nil {
		return nil, "", Subject{}, fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return fs, format, Subject{Name: filepath.Base(path), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}, nil
}

// FileSubject is a release artifact file as a result attestation's
// subject: its base name and sha256.
func FileSubject(ctx context.Context, path string) (Subject, error) {
	h := sha256.New()
	if _, err := infile.Copy(ctx, h, path); err != nil {
		return Subject{}, err
	}
	return Subject{Name: filepath.Base(path), Digest: map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}}, nil
}

// ReadPolicyFile reads a policy file named from outside (ParsePolicy).
func ReadPolicyFile(ctx context.Context, path string) (*CELPolicy, error) {
	data, err := infile.Read(ctx, path, MaxPolicySize)
	if err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	return ParsePolicy(data, filepath.Base(path))
}

// CommitSubject is a source release's commit as a result attestation's
// subject: git+REPOSITORY@REF with its gitCommit digest.
func CommitSubject(repository, ref, commit string) Subject {
	return Subject{Name: "git+" + repository + "@" + ref, Digest: map[string]string{"gitCommit": commit}}
}

// SignedAttestation is the result's attestation (Attestation) signed by
// signer into a Sigstore bundle, the auditable record of the decision. It
// is about each of the release artifact files named (FileSubject), else
// about subject: the release commit or the scan results file.
func (r *Result) SignedAttestation(ctx context.Context, subject Subject, files []string, signer attest.Signer) ([]byte, error) {
	subjects := []Subject{subject}
	if len(files) > 0 {
		subjects = subjects[:0]
		for _, f := range files {
			s, err := FileSubject(ctx, f)
			if err != nil {
				return nil, fmt.Errorf("subject: %w", err)
			}
			subjects = append(subjects, s)
		}
	}
	st, err := r.Attestation(subjects)
	if err != nil {
		return nil, err
	}
	return attest.SignStatement(ctx, st, signer)
}
