// Package digest is the one type for what vexloom names artifacts by: a
// content digest ("sha256:<hex>", "sha512:<hex>", or a git commit as
// in-toto's "gitCommit") and an in-toto subject (a name and its digests).
// Signing, verifying, publishing, pulling and gating all use these.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// GitCommit is in-toto's digest algorithm for a git commit: the subject of
// a source release that ships no artifact of its own.
const GitCommit = "gitCommit"

// Digest is an artifact digest, written "sha256:<hex>".
type Digest struct {
	Algorithm string // "sha256", "sha512" or "gitCommit"
	Hex       string // lowercase
}

// String returns "algorithm:hex".
func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// hexLengths are the digest algorithms vexloom accepts and their hex lengths.
var hexLengths = map[string]int{"sha256": 64, "sha512": 128}

// Validate checks the algorithm (sha256, sha512 or gitCommit) and the hex
// length and alphabet (lowercase), as written: it does not normalise.
func (d Digest) Validate() error {
	n, ok := hexLengths[d.Algorithm]
	if d.Algorithm == GitCommit {
		// A source release's commit: SHA-1 or SHA-256 repositories.
		n, ok = 40, true
		if len(d.Hex) == 64 {
			n = 64
		}
	}
	if !ok {
		return fmt.Errorf("digest algorithm %q is not sha256, sha512 or gitCommit", truncate(d.Algorithm))
	}
	if len(d.Hex) != n {
		return fmt.Errorf("%s digest has %d hex digits, want %d", d.Algorithm, len(d.Hex), n)
	}
	for i := 0; i < len(d.Hex); i++ {
		c := d.Hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%s digest is not lowercase hex", d.Algorithm)
		}
	}
	return nil
}

// Parse reads "sha256:<hex>", "sha512:<hex>" or "gitCommit:<hex>",
// normalising what other tools write: the algorithm in any case or as
// "sha-256", the hex in any case.
func Parse(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("digest %q: want ALGORITHM:HEX", truncate(s))
	}
	return New(alg, h)
}

// ParseExact reads "algorithm:hex" as vexloom writes it, normalising
// nothing (Validate).
func ParseExact(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("digest %q has no algorithm", truncate(s))
	}
	d := Digest{Algorithm: alg, Hex: h}
	if err := d.Validate(); err != nil {
		return Digest{}, err
	}
	return d, nil
}

// New returns the digest of algorithm alg with hex h, normalised as Parse
// does.
func New(alg, h string) (Digest, error) {
	alg = strings.ToLower(alg)
	switch alg {
	case "sha-256":
		alg = "sha256"
	case "sha-512":
		alg = "sha512"
	}
	n, ok := hexLengths[alg]
	if strings.EqualFold(alg, GitCommit) {
		// SHA-1 repositories, and SHA-256 ones.
		alg, n, ok = GitCommit, len(h), len(h) == 40 || len(h) == 64
	}
	if !ok {
		return Digest{}, fmt.Errorf("digest algorithm %q: want sha256, sha512 or gitCommit (40 or 64 hex digits)", truncate(alg))
	}
	h = strings.ToLower(h)
	if len(h) != n {
		return Digest{}, fmt.Errorf("%s digest %q: want %d hex digits", alg, truncate(h), n)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return Digest{}, fmt.Errorf("%s digest %q is not hex", alg, truncate(h))
	}
	return Digest{Algorithm: alg, Hex: h}, nil
}

// SHA256 returns the sha256 digest of b.
func SHA256(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// Subject is one subject of an in-toto statement: an artifact's name and
// its digests (algorithm → lowercase hex, algorithms as in-toto names them:
// "sha256").
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SubjectOf returns the subject named name with digests ds.
func SubjectOf(name string, ds ...Digest) Subject {
	s := Subject{Name: name, Digest: make(map[string]string, len(ds))}
	for _, d := range ds {
		s.Digest[d.Algorithm] = d.Hex
	}
	return s
}

// Digests returns the subject's digests, sorted by algorithm.
func (s Subject) Digests() []Digest {
	out := make([]Digest, 0, len(s.Digest))
	for alg, h := range s.Digest {
		out = append(out, Digest{Algorithm: alg, Hex: h})
	}
	slices.SortFunc(out, func(a, b Digest) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Has reports whether d is one of the subject's digests.
func (s Subject) Has(d Digest) bool {
	h, ok := s.Digest[d.Algorithm]
	return ok && d.Hex != "" && h == d.Hex
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Known reports whether alg is a file-digest algorithm vexloom accepts, as
// written: "sha256" or "sha512".
func Known(alg string) bool {
	_, ok := hexLengths[alg]
	return ok
}
