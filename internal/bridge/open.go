package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// Author and Source mark the events the bridge records.
const (
	Author = "vexloom"
	Source = "bridge"
)

// Open opens the triage of a bridged issue, or finds the one that
// exists, and links it back to the issue once.
func Open(ctx context.Context, st *store.Store, db *vulndb.DB, c Candidate) (string, bool, error) {
	vuln, err := VulnID(ctx, st, db, c.VulnIDs)
	if err != nil {
		return "", false, err
	}
	data, err := json.Marshal(map[string]string{"bridged_from": c.SourceURL})
	if err != nil {
		return "", false, err
	}
	link := store.Event{Kind: store.KindComment, Author: Author, Source: Source, Notes: "Bridged from " + c.SourceURL, Data: data}
	t, created, err := st.EnsureTriage(ctx, vuln, c.Module, []store.Event{link})
	if err != nil || created {
		return t.ID, created, err
	}
	_, err = st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
		for _, ev := range history {
			if ev.Kind == store.KindComment && ev.Source == Source && bridgedFrom(ev) == c.SourceURL {
				return nil, nil
			}
		}
		return []store.Event{link}, nil
	})
	return t.ID, false, err
}

func bridgedFrom(ev store.Event) string {
	var d struct {
		From string `json:"bridged_from"`
	}
	if json.Unmarshal(ev.Data, &d) != nil {
		return ""
	}
	return d.From
}

// VulnID chooses the vulnerability ID of a bridged issue: the Go
// vulnerability database's ID (GO-…) the scanner uses, found through the
// aliases the store has recorded and then the cached database; else the
// first ID the issue names. IDs that resolve to different entries are
// ambiguous, and nothing is guessed.
func VulnID(ctx context.Context, st *store.Store, db *vulndb.DB, ids []string) (string, error) {
	if len(ids) == 0 {
		return "", errors.New("no vulnerability ID")
	}
	var known []string
	for _, id := range ids {
		got, err := st.ResolveAlias(ctx, id)
		if err != nil {
			return "", err
		}
		if len(got) == 0 && db != nil {
			got, _ = db.Resolve(id)
		}
		for _, k := range got {
			if !slices.Contains(known, k) {
				known = append(known, k)
			}
		}
	}
	slices.Sort(known)
	switch len(known) {
	case 0:
		return ids[0], nil
	case 1:
		return known[0], nil
	}
	return "", fmt.Errorf("the IDs %s name %d different vulnerabilities (%s); the issue does not say which", strings.Join(ids, ", "), len(known), strings.Join(known, ", "))
}
