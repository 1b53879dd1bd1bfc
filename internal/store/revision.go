package store

import (
	"context"
	"fmt"
)

// Revision names the store's content as it is now: it changes whenever
// anything is recorded (an event, a scan, a document, a comment, a
// triage, a vulnerability's description), so a reader can keep what it derived until it does.
func (s *Store) Revision(ctx context.Context) (string, error) {
	var events, scans, docs, comments, triages, vulns int64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(seq), 0) FROM events),
		(SELECT COALESCE(MAX(id), 0) FROM scans),
		(SELECT COUNT(*) FROM documents),
		(SELECT COUNT(*) FROM comments),
		(SELECT COUNT(*) FROM triages),
		(SELECT COUNT(*) FROM vulnerabilities)`).Scan(&events, &scans, &docs, &comments, &triages, &vulns)
	if err != nil {
		return "", fmt.Errorf("reading the store's revision: %w", err)
	}
	return fmt.Sprintf("e%d.s%d.d%d.c%d.t%d.v%d", events, scans, docs, comments, triages, vulns), nil
}
