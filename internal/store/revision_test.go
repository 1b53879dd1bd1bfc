package store

import (
	"context"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
)

// The revision changes with every record; Vulnerabilities has the latest
// description of each.
func TestRevisionAndVulnerabilities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := Open(ctx, t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r0, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutVulnerability(ctx, scan.Vulnerability{ID: "GO-1", Modified: "2026-01-01", Summary: "old"}); err != nil {
		t.Fatal(err)
	}
	r1, _ := st.Revision(ctx)
	if err := st.PutVulnerability(ctx, scan.Vulnerability{ID: "GO-1", Modified: "2026-02-01", Summary: "new"}); err != nil {
		t.Fatal(err)
	}
	r2, _ := st.Revision(ctx)
	tr, _, err := st.EnsureTriage(ctx, "GO-1", "example.com/m", []Event{{Kind: KindObserved, Author: "vexloom"}})
	if err != nil {
		t.Fatal(err)
	}
	r3, _ := st.Revision(ctx)
	if _, err := st.Append(ctx, Event{TriageID: tr.ID, Kind: KindComment, Author: "a"}); err != nil {
		t.Fatal(err)
	}
	r4, _ := st.Revision(ctx)
	// A tracked release's document, images and publications count too.
	if err := st.RecordReleaseDocument(ctx, ReleaseDocument{Release: "v1", Version: 1, At: now, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	r5, _ := st.Revision(ctx)
	if err := st.RecordReleaseImages(ctx, []ReleaseImage{{Release: "v1", Reference: "r/x:v1", At: now}}); err != nil {
		t.Fatal(err)
	}
	r6, _ := st.Revision(ctx)
	if err := st.RecordReleasePublication(ctx, ReleasePublication{Release: "v1", Version: 1, Store: "local", At: now}); err != nil {
		t.Fatal(err)
	}
	r7, _ := st.Revision(ctx)
	all := []string{r0, r1, r2, r3, r4, r5, r6, r7}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r] {
			t.Errorf("revision %s repeats: %v", r, all)
		}
		seen[r] = true
	}
	if again, _ := st.Revision(ctx); again != r7 {
		t.Errorf("revision %s, then %s with nothing recorded", r7, again)
	}
	vs, err := st.Vulnerabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs["GO-1"].Summary != "new" {
		t.Errorf("vulnerabilities %+v", vs)
	}
}
