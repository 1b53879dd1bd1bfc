package ghfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Attestation is an artifact attestation stored in a repository.
type Attestation struct {
	ID             int64
	RepositoryID   int64
	Bundle         json.RawMessage // the Sigstore bundle as uploaded
	SubjectDigests []string        // "sha256:<hex>", from the in-toto statement's subjects
	PredicateType  string
	CreatedAt      time.Time
}

type attestation struct {
	id            int64
	bundle        json.RawMessage
	digests       []string
	predicateType string
	created       time.Time
}

// Attestations returns the repository's attestations, oldest first.
func (s *Server) Attestations(fullName string) []Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		return nil
	}
	var out []Attestation
	for _, a := range r.attestations {
		out = append(out, Attestation{
			ID:             a.id,
			RepositoryID:   r.id,
			Bundle:         slices.Clone(a.bundle),
			SubjectDigests: slices.Clone(a.digests),
			PredicateType:  a.predicateType,
			CreatedAt:      a.created,
		})
	}
	return out
}

// errBundle is why an uploaded bundle was refused.
var errBundle = errors.New("invalid sigstore bundle")

// bundleDoc is what the fake reads of a Sigstore bundle (protobuf JSON form):
// enough to check its shape and index it by subject digest as GitHub does.
// The fake does not verify signatures; consumers verify what they download.
type bundleDoc struct {
	MediaType            string          `json:"mediaType"`
	VerificationMaterial json.RawMessage `json:"verificationMaterial"`
	DSSEEnvelope         *struct {
		Payload     string            `json:"payload"`
		PayloadType string            `json:"payloadType"`
		Signatures  []json.RawMessage `json:"signatures"`
	} `json:"dsseEnvelope"`
}

// statementDoc is the part of an in-toto statement the fake indexes.
type statementDoc struct {
	Subject []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
}

// parseBundle checks an uploaded bundle's shape and returns the subject
// digests ("alg:hex") and predicate type of its DSSE-wrapped statement.
func parseBundle(raw json.RawMessage) (digests []string, predicateType string, err error) {
	var b bundleDoc
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, "", fmt.Errorf("%w: %w", errBundle, err)
	}
	if !strings.HasPrefix(b.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, "", fmt.Errorf("%w: mediaType %q", errBundle, b.MediaType)
	}
	if len(bytes.TrimSpace(b.VerificationMaterial)) == 0 || string(b.VerificationMaterial) == "null" {
		return nil, "", fmt.Errorf("%w: no verificationMaterial", errBundle)
	}
	env := b.DSSEEnvelope
	if env == nil {
		return nil, "", fmt.Errorf("%w: no dsseEnvelope", errBundle)
	}
	if env.PayloadType != "application/vnd.in-toto+json" {
		return nil, "", fmt.Errorf("%w: payloadType %q", errBundle, env.PayloadType)
	}
	if len(env.Signatures) == 0 {
		return nil, "", fmt.Errorf("%w: envelope has no signatures", errBundle)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		if payload, err = base64.URLEncoding.DecodeString(env.Payload); err != nil {
			return nil, "", fmt.Errorf("%w: payload is not base64", errBundle)
		}
	}
	var st statementDoc
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, "", fmt.Errorf("%w: payload: %w", errBundle, err)
	}
	for _, sub := range st.Subject {
		for alg, hex := range sub.Digest {
			d := strings.ToLower(alg) + ":" + strings.ToLower(hex)
			if !slices.Contains(digests, d) {
				digests = append(digests, d)
			}
		}
	}
	if len(digests) == 0 {
		return nil, "", fmt.Errorf("%w: statement has no subject digests", errBundle)
	}
	slices.Sort(digests)
	return digests, st.PredicateType, nil
}

// createAttestation is POST /repos/{owner}/{repo}/attestations {bundle}:
// 201 {"id": N}.
func (s *Server) createAttestation(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	var in struct {
		Bundle json.RawMessage `json:"bundle"`
	}
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if len(in.Bundle) == 0 || string(in.Bundle) == "null" {
		return s.invalid(fieldError{Resource: "Attestation", Field: "bundle", Code: "missing_field"})
	}
	digests, pt, err := parseBundle(in.Bundle)
	if err != nil {
		return s.invalid(fieldError{Resource: "Attestation", Field: "bundle", Code: "invalid", Message: err.Error()})
	}
	a := &attestation{id: s.nextID("attestation"), bundle: slices.Clone(in.Bundle), digests: digests, predicateType: pt, created: s.clock()}
	r.attestations = append(r.attestations, a)
	return s.json(http.StatusCreated, struct {
		ID int64 `json:"id"`
	}{a.id})
}

// attestationJSON is one entry of the list response.
type attestationJSON struct {
	Bundle       json.RawMessage `json:"bundle"`
	RepositoryID int64           `json:"repository_id"`
}

// listAttestations is GET /repos/{owner}/{repo}/attestations/{subject_digest}:
// newest first, optionally filtered by predicate_type, paginated with
// per_page and the opaque before/after cursors GitHub uses here (not page).
// No attestation for the digest is 404, as on GitHub.
func (s *Server) listAttestations(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	digest := strings.ToLower(c.vars["digest"])
	pt := c.query("predicate_type")
	var picked []*attestation
	for i := len(r.attestations) - 1; i >= 0; i-- {
		a := r.attestations[i]
		if slices.Contains(a.digests, digest) && (pt == "" || a.predicateType == pt) {
			picked = append(picked, a)
		}
	}
	if len(picked) == 0 {
		return s.fail(http.StatusNotFound, "Not Found")
	}
	perPage := paging(c).perPage
	lo, hi := 0, len(picked)
	switch {
	case c.query("after") != "":
		id, ok := decodeCursor(c.query("after"))
		if !ok {
			return s.invalid(fieldError{Resource: "Attestation", Field: "after", Code: "invalid"})
		}
		lo = slices.IndexFunc(picked, func(a *attestation) bool { return a.id < id })
		if lo < 0 {
			lo = len(picked)
		}
		hi = min(len(picked), lo+perPage)
	case c.query("before") != "":
		id, ok := decodeCursor(c.query("before"))
		if !ok {
			return s.invalid(fieldError{Resource: "Attestation", Field: "before", Code: "invalid"})
		}
		hi = slices.IndexFunc(picked, func(a *attestation) bool { return a.id <= id })
		if hi < 0 {
			hi = len(picked)
		}
		lo = max(0, hi-perPage)
	default:
		hi = min(len(picked), perPage)
	}
	out := struct {
		Attestations []attestationJSON `json:"attestations"`
	}{Attestations: []attestationJSON{}}
	for _, a := range picked[lo:hi] {
		out.Attestations = append(out.Attestations, attestationJSON{Bundle: a.bundle, RepositoryID: r.id})
	}
	rep = s.json(http.StatusOK, out)
	var rels []string
	at := func(param string, id int64, rel string) string {
		q := c.r.URL.Query()
		q.Del("after")
		q.Del("before")
		q.Set(param, encodeCursor(id))
		return "<" + strings.TrimSuffix(c.apiBase, "/") + c.escaped + "?" + q.Encode() + ">; rel=\"" + rel + "\""
	}
	if lo > 0 && lo < len(picked) {
		rels = append(rels, at("before", picked[lo].id, "prev"))
	}
	if hi < len(picked) && hi > 0 {
		rels = append(rels, at("after", picked[hi-1].id, "next"))
	}
	if len(rels) > 0 {
		rep.header.Set("Link", strings.Join(rels, ", "))
	}
	return rep
}

// Cursors are opaque to clients; the fake encodes the attestation ID.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("attestation:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(cur string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(string(b), "attestation:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil
}
