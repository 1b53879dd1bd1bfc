package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// Status is a tracked release as status describes it.
type Status struct {
	Release string `json:"release"`
	Branch  string `json:"branch"`
	Commit  string `json:"commit"`
	// Images are the recorded platform images.
	Images     []ImageStatus `json:"images"`
	VEXVersion int           `json:"vex_version"`
	Written    time.Time     `json:"written"`
	// Statements counts the current document's statements by status.
	Statements map[string]int `json:"statements"`
	// LastPublished is when a version was last pushed, and PublishedTo
	// where the current version is.
	LastPublished *time.Time `json:"last_published"`
	PublishedTo   []string   `json:"published_to"`
}

// ImageStatus is a recorded platform image of a tracked release.
type ImageStatus struct {
	Reference string `json:"reference"`
	Platform  string `json:"platform"`
	Digest    string `json:"digest"`
}

// Statuses describes every release with a document in the store.
func Statuses(ctx context.Context, st *store.Store) ([]Status, error) {
	docs, err := st.ReleaseDocuments(ctx, "")
	if err != nil {
		return nil, err
	}
	latest := map[string]store.ReleaseDocument{}
	var names []string
	for _, d := range docs {
		if _, ok := latest[d.Release]; !ok {
			names = append(names, d.Release)
		}
		latest[d.Release] = d
	}
	out := []Status{}
	for _, n := range names {
		d := latest[n]
		rs := Status{Release: n, Branch: d.Branch, Commit: d.Commit, VEXVersion: d.Version, Written: d.At.UTC(),
			Images: []ImageStatus{}, Statements: map[string]int{}, PublishedTo: []string{}}
		imgs, err := st.ReleaseImages(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			rs.Images = append(rs.Images, ImageStatus{Reference: im.Reference, Platform: im.Platform, Digest: im.Digest})
		}
		if doc, err := vex.Parse(d.Body); err == nil {
			for _, s := range doc.Statements {
				rs.Statements[string(s.Status)]++
			}
		}
		pubs, err := st.ReleasePublications(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, pb := range pubs {
			at := pb.At.UTC()
			rs.LastPublished = &at
			if pb.Version == d.Version && !slices.Contains(rs.PublishedTo, pb.Store) {
				rs.PublishedTo = append(rs.PublishedTo, pb.Store)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}

// Reached maps each decision's Seq to the tracked releases whose VEX it
// reached, as RELEASE@vVERSION (the first version stating it).
func Reached(ctx context.Context, st *store.Store) (map[int64][]string, error) {
	docs, err := st.ReleaseDocuments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	seen := map[string]bool{}
	for _, d := range docs {
		for _, seq := range d.Decisions {
			k := fmt.Sprintf("%d\x00%s", seq, d.Release)
			if seen[k] {
				continue
			}
			seen[k] = true
			out[seq] = append(out[seq], fmt.Sprintf("%s@v%d", d.Release, d.Version))
		}
	}
	return out, nil
}

// TrackedCommit finds the commit of the tracked release one of whose
// documents (any version) has the ID docID.
func TrackedCommit(ctx context.Context, st *store.Store, docID string) (string, error) {
	docs, err := st.ReleaseDocuments(ctx, "")
	if err != nil {
		return "", err
	}
	for i := len(docs) - 1; i >= 0; i-- {
		d, err := vex.Parse(docs[i].Body)
		if err == nil && d.ID == docID {
			return docs[i].Commit, nil
		}
	}
	return "", errors.New("it is not a document of a release the project tracks")
}

// Document is a tracked release's stored document: the latest version,
// or version when it is not 0. Its body is checked to parse.
func Document(ctx context.Context, st *store.Store, name string, version int) (*store.ReleaseDocument, error) {
	docs, err := st.ReleaseDocuments(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no VEX written for the release %s yet: is it tracked (releases in %s), and has update run?", name, config.FileName)
	}
	doc := &docs[len(docs)-1]
	if version != 0 {
		doc = nil
		for i := range docs {
			if docs[i].Version == version {
				doc = &docs[i]
			}
		}
		if doc == nil {
			return nil, fmt.Errorf("the release %s has no VEX version %d (%d written)", name, version, len(docs))
		}
	}
	if _, err := vex.Parse(doc.Body); err != nil {
		return nil, fmt.Errorf("the stored VEX of the release %s version %d does not parse: %w", name, doc.Version, err)
	}
	return doc, nil
}
