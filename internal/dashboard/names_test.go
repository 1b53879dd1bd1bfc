package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// A branch whose name has a slash and a hash is linked to, and its page
// found.
func TestBranchNamesAreLinkedEscaped(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const branch = "release/1.0#lts"
	if err := st.RecordScan(ctx, &store.Scan{Branch: branch, Commit: "abc", At: now}, nil, nil); err != nil {
		t.Fatal(err)
	}
	doc := vex.NewDocument("me", "vexloom", now)
	if err := vex.Finalize(doc); err != nil {
		t.Fatal(err)
	}
	body, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordDocument(ctx, store.Document{Branch: branch, Version: 1, ContentHash: "h", At: now, Body: body}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Store: st, Project: "example.com/m", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	_, page := get(t, srv.URL+"/releases")
	m := regexp.MustCompile(`href="(/releases/branch/[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link to the branch:\n%s", page)
	}
	if m[1] != "/releases/branch/release%2f1.0%23lts" && m[1] != "/releases/branch/release%2F1.0%23lts" {
		t.Errorf("link %s", m[1])
	}
	resp, page := get(t, srv.URL+m[1])
	if resp.StatusCode != http.StatusOK || !regexp.MustCompile(`<h1>release/1.0#lts</h1>`).MatchString(page) {
		t.Errorf("GET %s: %s\n%s", m[1], resp.Status, page)
	}
}
