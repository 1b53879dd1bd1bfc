package ghbackend

import (
	"context"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/store"
)

// IssueLink reads the issue a backend recorded for a triage, without a
// client.
func TestIssueLinkReadsTheRecordedIssue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return time.Unix(0, 0) })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &Backend{repo: "org/.vexloom"}
	if _, err := st.Claim(ctx, "vx-abc123", b.issueKind(), "12 https://github.com/org/.vexloom/issues/12"); err != nil {
		t.Fatal(err)
	}
	if got, err := IssueLink(ctx, st, "org/.vexloom", "vx-abc123"); err != nil || got != "https://github.com/org/.vexloom/issues/12" {
		t.Errorf("IssueLink = %q, %v", got, err)
	}
	for _, c := range []struct{ repo, id string }{{"org/.vexloom", "vx-other"}, {"other/repo", "vx-abc123"}} {
		if got, err := IssueLink(ctx, st, c.repo, c.id); err != nil || got != "" {
			t.Errorf("IssueLink(%s, %s) = %q, %v; want none", c.repo, c.id, got, err)
		}
	}
}
