package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vexloom/vexloom/internal/scan"
)

// Revision names the store's content as it is now: it changes whenever
// anything is recorded (an event, a scan, a scan's observation, a
// document, a comment, a triage, a vulnerability's description, a tracked
// release's document, image or publication), so a reader can keep what it derived until it
// does. Every table is append-only, so the largest row ID of each says
// it, without counting — except scan_observed, keyed by the scan it
// marks: runners mark their scans in any order, so its rows are counted.
func (s *Store) Revision(ctx context.Context) (string, error) {
	var events, scans, observed, docs, comments, triages, vulns, rdocs, rimgs, rpubs int64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(seq), 0) FROM events),
		(SELECT COALESCE(MAX(id), 0) FROM scans),
		(SELECT count(*) FROM scan_observed),
		(SELECT COALESCE(MAX(rowid), 0) FROM documents),
		(SELECT COALESCE(MAX(rowid), 0) FROM comments),
		(SELECT COALESCE(MAX(rowid), 0) FROM triages),
		(SELECT COALESCE(MAX(rowid), 0) FROM vulnerabilities),
		(SELECT COALESCE(MAX(rowid), 0) FROM release_documents),
		(SELECT COALESCE(MAX(seq), 0) FROM release_images),
		(SELECT COALESCE(MAX(seq), 0) FROM release_publications)`).Scan(&events, &scans, &observed, &docs, &comments, &triages, &vulns, &rdocs, &rimgs, &rpubs)
	if err != nil {
		return "", fmt.Errorf("reading the store's revision: %w", err)
	}
	return fmt.Sprintf("e%d.s%d.o%d.d%d.c%d.t%d.v%d.r%d.%d.%d", events, scans, observed, docs, comments, triages, vulns, rdocs, rimgs, rpubs), nil
}

// Vulnerabilities returns the latest description of every vulnerability
// the store knows, by ID, in one query.
func (s *Store) Vulnerabilities(ctx context.Context) (map[string]scan.Vulnerability, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, data FROM vulnerabilities ORDER BY id, modified, rowid`)
	if err != nil {
		return nil, fmt.Errorf("reading the vulnerabilities: %w", err)
	}
	defer rows.Close()
	out := map[string]scan.Vulnerability{}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		var v scan.Vulnerability
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("reading vulnerability %s: %w", id, err)
		}
		out[id] = v // the latest wins
	}
	return out, rows.Err()
}
