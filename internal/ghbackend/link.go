package ghbackend

import (
	"context"
	"strings"

	"github.com/vexloom/vexloom/internal/store"
)

// IssueLink returns the address of a triage's issue in the triage
// repository repo ("owner/name") as the store recorded it, "" when it has
// none. It needs no token or client: the dashboard of a machine that
// answers no webhooks links issues with it.
func IssueLink(ctx context.Context, st *store.Store, repo, triageID string) (string, error) {
	acked, remote, err := st.Acked(ctx, triageID, (&Backend{repo: repo}).issueKind())
	if err != nil || !acked {
		return "", err
	}
	_, url, _ := strings.Cut(remote, " ")
	return url, nil
}
