package publish

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFeedOverADamagedStoreIsNeverEmpty: when the published store behind a
// feed is damaged, refreshing says which file, the feed already written
// and served stays as it was, and a feed that never read the store serves
// nothing rather than an empty index.
func TestFeedOverADamagedStoreIsNeverEmpty(t *testing.T) {
	ctx := context.Background()
	local, err := NewLocal(t.TempDir(), clockAt(t0.Add(48*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cfg := FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org", Dir: out}
	feed, err := NewFeed(cfg, local)
	if err != nil {
		t.Fatal(err)
	}
	var r Receipt
	for _, d := range feedDocs(t) {
		if r, err = feed.Publish(ctx, Object{Document: d, Products: []string{kube}, Kind: KindRelease, Ref: "v1.34.2"}); err != nil {
			t.Fatal(err)
		}
	}
	index, err := os.ReadFile(filepath.Join(out, FeedIndexPath))
	if err != nil || !bytes.Contains(index, []byte(`"openvex"`)) {
		t.Fatalf("feed index %s, %v", index, err)
	}
	id, _ := ParseDigest(r.ID)
	entry := filepath.Join(local.Dir(), "index", "all", id.Hex)
	os.Chmod(entry, 0o644)
	if err := os.WriteFile(entry, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := feed.Refresh(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), entry) {
		t.Fatalf("Refresh over a damaged store: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(out, FeedIndexPath)); !bytes.Equal(after, index) {
		t.Errorf("the written feed changed:\n%s", after)
	}
	srv := httptest.NewServer(feed.Handler())
	t.Cleanup(srv.Close)
	if got := get(t, srv.URL+"/"+FeedIndexPath, nil, http.StatusOK).body; !bytes.Equal(got, index) {
		t.Errorf("the served feed changed:\n%s", got)
	}

	// A feed that could never read the store has nothing to serve.
	fresh, err := NewFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org"}, local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Refresh(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Refresh: %v", err)
	}
	srv2 := httptest.NewServer(fresh.Handler())
	t.Cleanup(srv2.Close)
	for _, p := range []string{FeedIndexPath, FeedManifestPath, FeedArchiveName} {
		get(t, srv2.URL+"/"+p, nil, http.StatusServiceUnavailable)
	}
}
