package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v75/github"
)

// maxAttestationPages bounds how many pages of attestations are read for
// one subject (100 per page).
const maxAttestationPages = 20

// GitHub publishes bundles to a repository's artifact attestations
// (POST /repos/{owner}/{repo}/attestations). GitHub indexes them by the
// subjects of the signed statement; they are never replaced, and the same
// bundle is not uploaded twice.
type GitHub struct {
	client      *github.Client
	owner, repo string
}

// NewGitHub returns a store for the repository "OWNER/REPO" through client
// (authentication, base URL, retries are the client's).
func NewGitHub(client *github.Client, repository string) (*GitHub, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/?#%") || strings.ContainsAny(owner, "?#%") ||
		owner == "." || owner == ".." || repo == "." || repo == ".." {
		return nil, fmt.Errorf("github store: %q is not OWNER/REPO", truncate(repository))
	}
	if client == nil {
		return nil, errors.New("github store: no client")
	}
	return &GitHub{client: client, owner: owner, repo: repo}, nil
}

// Name returns "github:OWNER/REPO".
func (g *GitHub) Name() string { return "github:" + g.owner + "/" + g.repo }

// Publish uploads obj's bundle unless the repository already has it for the
// object's first subject.
func (g *GitHub) Publish(ctx context.Context, obj Object) (Receipt, error) {
	checked, err := Check(obj)
	if err != nil {
		return Receipt{}, err
	}
	if obj.Bundle == nil {
		return Receipt{}, ErrUnsigned
	}
	subjects := checked.StatementSubjects
	if len(obj.Subjects) > 0 {
		subjects = obj.Subjects[0].Digests()
	}
	if len(subjects) == 0 {
		return Receipt{}, fmt.Errorf("%w: the statement has no subject", ErrInvalidObject)
	}
	subject := subjects[0]
	want, err := canonicalJSON(obj.Bundle)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: bundle: %v", ErrInvalidObject, err)
	}
	r := Receipt{
		Store:    g.Name(),
		Location: g.client.BaseURL.String() + g.listPath(subject),
		ID:       SHA256(obj.Bundle).String(),
	}
	existing, err := g.List(ctx, subject)
	if err != nil {
		return Receipt{}, err
	}
	for _, b := range existing {
		if got, err := canonicalJSON(b); err == nil && string(got) == string(want) {
			return r, nil
		}
	}
	body := struct {
		Bundle json.RawMessage `json:"bundle"`
	}{Bundle: json.RawMessage(obj.Bundle)}
	req, err := g.client.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/attestations", g.owner, g.repo), body)
	if err != nil {
		return Receipt{}, err
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if _, err := g.client.Do(ctx, req, &created); err != nil {
		return Receipt{}, fmt.Errorf("uploading attestation to %s/%s: %w", g.owner, g.repo, err)
	}
	if created.ID == 0 {
		return Receipt{}, fmt.Errorf("uploading attestation to %s/%s: the response has no id", g.owner, g.repo)
	}
	return r, nil
}

func (g *GitHub) listPath(subject Digest) string {
	return fmt.Sprintf("repos/%s/%s/attestations/%s", g.owner, g.repo, subject)
}

// List returns the bundles the repository has for subject, in the order
// GitHub lists them (newest first). GitHub pages this list with the
// before/after cursors of its Link header, which go-github's
// ListAttestations cannot pass on, so the requests are made here.
func (g *GitHub) List(ctx context.Context, subject Digest) ([][]byte, error) {
	if err := subject.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	var out [][]byte
	q := url.Values{"per_page": {"100"}}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxAttestationPages {
			return nil, fmt.Errorf("%s/%s has more than %d pages of attestations for %s", g.owner, g.repo, maxAttestationPages, subject)
		}
		req, err := g.client.NewRequest(http.MethodGet, g.listPath(subject)+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		var res github.AttestationsResponse
		resp, err := g.client.Do(ctx, req, &res)
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return out, nil // GitHub answers 404 when a subject has none
		}
		if err != nil {
			return nil, fmt.Errorf("listing attestations of %s in %s/%s: %w", subject, g.owner, g.repo, err)
		}
		for _, a := range res.Attestations {
			if a != nil && len(a.Bundle) > 0 {
				if len(a.Bundle) > MaxBundleSize {
					return nil, fmt.Errorf("%w: attestation bundle larger than %d bytes", ErrInvalidObject, MaxBundleSize)
				}
				out = append(out, []byte(a.Bundle))
			}
		}
		switch {
		case resp.After != "":
			q.Del("page")
			q.Set("after", resp.After)
		case resp.NextPage != 0:
			q.Del("after")
			q.Set("page", fmt.Sprint(resp.NextPage))
		default:
			return out, nil
		}
		if seen[q.Encode()] {
			return nil, fmt.Errorf("listing attestations of %s in %s/%s: the next page repeats", subject, g.owner, g.repo)
		}
		seen[q.Encode()] = true
	}
}
