package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
)

// Scan is one recorded scan of a branch at a commit.
type Scan struct {
	ID         int64
	Branch     string
	Commit     string
	CommitTime time.Time
	Tool       string
	Engine     string
	DBSource   string
	DBVersion  string
	DBDigest   string
	At         time.Time
	Modules    []ScannedModule
	// Pending records the scan without counting it as its branch's
	// latest until MarkObserved says its findings are observed; a scan
	// recorded otherwise counts at once.
	Pending bool
}

// ScannedModule is a module of a scan.
type ScannedModule struct {
	Path      string `json:"path"`
	Dir       string `json:"dir"`
	Version   string `json:"version,omitempty"`
	GoVersion string `json:"go_version,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Finding is a finding of a scan in one of its modules.
type Finding struct {
	Module        string
	ModuleVersion string
	GoVersion     string
	scan.Finding
}

// RecordScan stores a scan with its findings and the descriptions of the
// vulnerabilities found, in one transaction.
func (s *Store) RecordScan(ctx context.Context, sc *Scan, findings []Finding, vulns []scan.Vulnerability) error {
	return s.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO scans (branch, commit_hash, commit_time, tool, engine, db_source, db_version, db_digest, at, modules) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			sc.Branch, sc.Commit, stamp(sc.CommitTime), sc.Tool, sc.Engine, sc.DBSource, sc.DBVersion, sc.DBDigest, stamp(sc.At), mustJSON(sc.Modules)).Scan(&sc.ID)
		if err != nil {
			return fmt.Errorf("recording the scan of %s: %w", sc.Branch, err)
		}
		for _, f := range findings {
			detail := mustJSON(f.Finding)
			if _, err := tx.ExecContext(ctx, `INSERT INTO findings (scan_id, module, module_version, vuln_id, dependency, dependency_version, level, fixed_version, go_version, detail) VALUES (?,?,?,?,?,?,?,?,?,?)`,
				sc.ID, f.Module, f.ModuleVersion, f.ID, f.Finding.Module, f.Version, int(f.Level), f.FixedVersion, f.GoVersion, detail); err != nil {
				return fmt.Errorf("recording a finding of %s: %w", sc.Branch, err)
			}
		}
		if !sc.Pending {
			if _, err := tx.ExecContext(ctx, `INSERT INTO scan_observed (scan_id, at) VALUES (?,?)`, sc.ID, stamp(sc.At)); err != nil {
				return fmt.Errorf("recording the scan of %s: %w", sc.Branch, err)
			}
		}
		for _, v := range vulns {
			if err := putVulnerability(ctx, tx, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkObserved records that what a scan found is observed: from now on
// it can be its branch's latest scan. Marking a scan twice is harmless.
func (s *Store) MarkObserved(ctx context.Context, scanID int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO scan_observed (scan_id, at) VALUES (?,?) ON CONFLICT DO NOTHING`, scanID, stamp(at)); err != nil {
		return fmt.Errorf("recording scan %d as observed: %w", scanID, err)
	}
	return nil
}

func putVulnerability(ctx context.Context, tx *Tx, v scan.Vulnerability) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO vulnerabilities (id, modified, data) VALUES (?,?,?) ON CONFLICT DO NOTHING`, v.ID, v.Modified, mustJSON(v)); err != nil {
		return fmt.Errorf("recording %s: %w", v.ID, err)
	}
	for _, a := range append([]string{v.ID}, v.Aliases...) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (alias, vuln_id) VALUES (?,?) ON CONFLICT DO NOTHING`, strings.ToUpper(a), v.ID); err != nil {
			return err
		}
	}
	return nil
}

// PutVulnerability records a vulnerability's description (an advisory that
// no scan found, say).
func (s *Store) PutVulnerability(ctx context.Context, v scan.Vulnerability) error {
	return s.tx(ctx, func(tx *Tx) error { return putVulnerability(ctx, tx, v) })
}

// Vulnerability returns the latest description of id.
func (s *Store) Vulnerability(ctx context.Context, id string) (scan.Vulnerability, error) {
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM vulnerabilities WHERE id = ? ORDER BY modified DESC, rowid DESC LIMIT 1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return scan.Vulnerability{ID: id}, fmt.Errorf("vulnerability %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return scan.Vulnerability{}, err
	}
	var v scan.Vulnerability
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return scan.Vulnerability{}, err
	}
	return v, nil
}

// ResolveAlias returns the vulnerability IDs known under id (a GO-, CVE- or
// GHSA- identifier), case-insensitively.
func (s *Store) ResolveAlias(ctx context.Context, id string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT vuln_id FROM aliases WHERE alias = ? ORDER BY vuln_id`, strings.ToUpper(strings.TrimSpace(id)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// goodScan is the SQL condition of a complete scan whose findings are
// observed: no module has an error, and MarkObserved recorded it. Failed
// scans are recorded in scan_failures; a store written before that may
// hold some in scans, and they never count as a branch's latest. The
// modules column is JSON, where a key is always written `"error":` and a
// quote inside a value is always escaped, so the pattern matches the key
// only. A scan recorded by a runner that stopped before it observed what
// the scan found (killed, say) is not its branch's latest either: what
// the store derives from a branch's latest scan would miss the findings.
const goodScan = completeScan + ` AND id IN (SELECT scan_id FROM scan_observed)`

// completeScan is the SQL condition of a scan in which no module failed,
// observed or not (goodScan).
const completeScan = `modules NOT LIKE '%"error":%'`

// LatestScans returns the latest complete scan of each branch, by branch: a
// scan in which a module failed is never a branch's latest.
func (s *Store) LatestScans(ctx context.Context) (map[string]*Scan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, branch, commit_hash, commit_time, tool, engine, db_source, db_version, db_digest, at, modules FROM scans WHERE id IN (SELECT MAX(id) FROM scans WHERE `+goodScan+` GROUP BY branch)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Scan{}
	for rows.Next() {
		sc, err := scanScan(rows)
		if err != nil {
			return nil, err
		}
		out[sc.Branch] = sc
	}
	return out, rows.Err()
}

// Scans returns the scans of a branch, oldest first.
func (s *Store) Scans(ctx context.Context, branch string) ([]*Scan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, branch, commit_hash, commit_time, tool, engine, db_source, db_version, db_digest, at, modules FROM scans WHERE branch = ? ORDER BY id`, branch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Scan
	for rows.Next() {
		sc, err := scanScan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

func scanScan(rows *sql.Rows) (*Scan, error) {
	var sc Scan
	var ct, at, mods string
	if err := rows.Scan(&sc.ID, &sc.Branch, &sc.Commit, &ct, &sc.Tool, &sc.Engine, &sc.DBSource, &sc.DBVersion, &sc.DBDigest, &at, &mods); err != nil {
		return nil, err
	}
	sc.CommitTime, sc.At = parseStamp(ct), parseStamp(at)
	if mods != "" {
		if err := json.Unmarshal([]byte(mods), &sc.Modules); err != nil {
			return nil, err
		}
	}
	return &sc, nil
}

// Findings returns the findings of a scan.
func (s *Store) Findings(ctx context.Context, scanID int64) ([]Finding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT module, module_version, go_version, detail FROM findings WHERE scan_id = ? ORDER BY rowid`, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		var detail string
		if err := rows.Scan(&f.Module, &f.ModuleVersion, &f.GoVersion, &detail); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(detail), &f.Finding); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Triage is one conversation about one vulnerability in one dependency
// module, across every branch.
type Triage struct {
	ID         string
	VulnID     string
	Dependency string
	Created    time.Time
}

// TriageID derives the short, stable ID of the triage of vuln in dependency.
func TriageID(vuln, dependency string) string {
	sum := sha256.Sum256([]byte(vuln + "\x00" + dependency))
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	return "vx-" + enc.EncodeToString(sum[:])[:6]
}

// EnsureTriage returns the triage of (vuln, dependency), creating it with
// its first events in the same transaction if it does not exist. Concurrent
// callers get the same triage; exactly one of them creates it.
func (s *Store) EnsureTriage(ctx context.Context, vuln, dependency string, first []Event) (Triage, bool, error) {
	var t Triage
	created := false
	err := s.tx(ctx, func(tx *Tx) error {
		created = false
		var id, at string
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM triages WHERE vuln_id = ? AND dependency = ?`, vuln, dependency).Scan(&id, &at)
		if err == nil {
			t = Triage{ID: id, VulnID: vuln, Dependency: dependency, Created: parseStamp(at)}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id = TriageID(vuln, dependency)
		// A collision of the short ID with another triage: lengthen it.
		for n := 0; ; n++ {
			var other string
			err := tx.QueryRowContext(ctx, `SELECT vuln_id FROM triages WHERE id = ?`, id).Scan(&other)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			id = fmt.Sprintf("%s%d", TriageID(vuln, dependency), n+2)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO triages (id, vuln_id, dependency, created_at) VALUES (?,?,?,?)`, id, vuln, dependency, stamp(now)); err != nil {
			return err
		}
		t = Triage{ID: id, VulnID: vuln, Dependency: dependency, Created: now}
		created = true
		for _, ev := range first {
			ev.TriageID = id
			if _, err := appendEvent(ctx, tx, ev, now); err != nil {
				return err
			}
		}
		return nil
	})
	return t, created, err
}

// Triages returns every triage, by ID. They are read in the order they
// were recorded and sorted here: ordering by ID in the query costs SQLite
// a lookup of every row through the key's index.
func (s *Store) Triages(ctx context.Context) ([]Triage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, vuln_id, dependency, created_at FROM triages`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Triage
	for rows.Next() {
		var t Triage
		var at string
		if err := rows.Scan(&t.ID, &t.VulnID, &t.Dependency, &at); err != nil {
			return nil, err
		}
		t.Created = parseStamp(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Triage) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// FindTriage resolves a reference to one triage: its ID, or a vulnerability
// ID or alias (GO-, CVE-, GHSA-) when exactly one triage has it.
func (s *Store) FindTriage(ctx context.Context, ref string) (Triage, error) {
	ref = strings.TrimSpace(ref)
	all, err := s.Triages(ctx)
	if err != nil {
		return Triage{}, err
	}
	for _, t := range all {
		if strings.EqualFold(t.ID, ref) {
			return t, nil
		}
	}
	ids, err := s.ResolveAlias(ctx, ref)
	if err != nil {
		return Triage{}, err
	}
	var match []Triage
	for _, t := range all {
		if slices.Contains(ids, t.VulnID) || strings.EqualFold(t.VulnID, ref) {
			match = append(match, t)
		}
	}
	switch len(match) {
	case 0:
		return Triage{}, fmt.Errorf("triage %q: %w (give a triage ID such as vx-abc123, or a GO-, CVE- or GHSA- ID that vexloom has found)", ref, ErrNotFound)
	case 1:
		return match[0], nil
	}
	var names []string
	for _, t := range match {
		names = append(names, t.ID+" ("+t.Dependency+")")
	}
	return Triage{}, fmt.Errorf("%q is in %d triages, %w: %s", ref, len(match), ErrAmbiguous, strings.Join(names, ", "))
}

// ScanFailure is an attempt to scan a branch that did not complete: a
// module whose go.mod does not parse, whose dependencies could not be
// downloaded or whose packages do not load.
type ScanFailure struct {
	ID     int64
	Branch string
	Commit string
	// AfterScan is the branch's latest complete scan when the attempt
	// failed (0: none).
	AfterScan int64
	At        time.Time
	// Reason says in a line why the scan failed.
	Reason string
	// Modules are the scanned modules, the failed ones with their error.
	Modules []ScannedModule
}

// BranchFailure says that a branch has failed to scan since its last
// complete scan.
type BranchFailure struct {
	Branch string
	// Since is the first failed attempt after the last complete scan.
	Since time.Time
	// Attempts counts the failed attempts since then.
	Attempts int
	// Latest is the latest failed attempt.
	Latest ScanFailure
}

// RecordScanFailure records a failed scan of a branch. It does not touch
// the branch's scans: its latest complete scan stays its latest.
func (s *Store) RecordScanFailure(ctx context.Context, f *ScanFailure) error {
	return s.tx(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM scans WHERE branch = ? AND `+goodScan, f.Branch).Scan(&f.AfterScan); err != nil {
			return fmt.Errorf("reading the scans of %s: %w", f.Branch, err)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO scan_failures (branch, commit_hash, after_scan, at, reason, modules) VALUES (?,?,?,?,?,?) RETURNING id`,
			f.Branch, f.Commit, f.AfterScan, stamp(f.At), f.Reason, mustJSON(f.Modules)).Scan(&f.ID)
		if err != nil {
			return fmt.Errorf("recording the failed scan of %s: %w", f.Branch, err)
		}
		return nil
	})
}

// PendingBranches returns, by branch, the newest complete scan of each
// branch that is newer than its latest observed one: a runner recorded it
// and stopped (was killed, say) before everything it found was observed,
// so what the store holds of the branch is part old, part new until a run
// observes a scan of it again.
func (s *Store) PendingBranches(ctx context.Context) (map[string]*Scan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, branch, commit_hash, commit_time, tool, engine, db_source, db_version, db_digest, at, modules FROM scans WHERE id IN (
SELECT MAX(p.id) FROM scans p
WHERE p.`+completeScan+` AND p.id NOT IN (SELECT scan_id FROM scan_observed)
AND p.id > (SELECT COALESCE(MAX(o.id), 0) FROM scans o WHERE o.branch = p.branch AND o.`+goodScan+`)
GROUP BY p.branch)`)
	if err != nil {
		return nil, fmt.Errorf("reading the scans being observed: %w", err)
	}
	defer rows.Close()
	out := map[string]*Scan{}
	for rows.Next() {
		sc, err := scanScan(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the scans being observed: %w", err)
		}
		sc.Pending = true
		out[sc.Branch] = sc
	}
	return out, rows.Err()
}

// FailingBranches returns the branches whose scans have failed since their
// last complete scan, by branch. A complete scan recorded after a failure
// heals the branch.
func (s *Store) FailingBranches(ctx context.Context) (map[string]*BranchFailure, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.id, f.branch, f.commit_hash, f.after_scan, f.at, f.reason, f.modules FROM scan_failures f
WHERE f.after_scan = (SELECT COALESCE(MAX(s.id), 0) FROM scans s WHERE s.branch = f.branch AND s.`+goodScan+`)
ORDER BY f.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*BranchFailure{}
	for rows.Next() {
		var f ScanFailure
		var at, mods string
		if err := rows.Scan(&f.ID, &f.Branch, &f.Commit, &f.AfterScan, &at, &f.Reason, &mods); err != nil {
			return nil, err
		}
		f.At = parseStamp(at)
		if mods != "" {
			if err := json.Unmarshal([]byte(mods), &f.Modules); err != nil {
				return nil, fmt.Errorf("reading the failed scan %d of %s: %w", f.ID, f.Branch, err)
			}
		}
		bf := out[f.Branch]
		if bf == nil {
			bf = &BranchFailure{Branch: f.Branch, Since: f.At}
			out[f.Branch] = bf
		}
		bf.Attempts++
		bf.Latest = f
	}
	return out, rows.Err()
}

// ScanOutput returns the engine output stored under a scan cache key's ID.
func (s *Store) ScanOutput(ctx context.Context, id string) ([]byte, bool, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT body FROM scan_outputs WHERE key = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return body, err == nil, err
}

// PutScanOutput stores an engine output under a scan cache key's ID; the
// first one stored stays.
func (s *Store) PutScanOutput(ctx context.Context, id string, body []byte) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO scan_outputs (key, at, body) VALUES (?,?,?) ON CONFLICT DO NOTHING`, id, stamp(s.now()), body)
		return err
	})
}

// LatestVulnerabilities returns the latest description of every
// vulnerability, by ID: one query where Vulnerability would make one per
// vulnerability.
func (s *Store) LatestVulnerabilities(ctx context.Context) (map[string]scan.Vulnerability, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, data FROM vulnerabilities ORDER BY id, modified, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	raw := map[string]string{}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		raw[id] = data // the last row of an ID is its latest
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]scan.Vulnerability, len(raw))
	for id, data := range raw {
		var v scan.Vulnerability
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("reading %s: %w", id, err)
		}
		out[id] = v
	}
	return out, nil
}

// FindingCount is how many findings a scan recorded (Findings without
// reading them).
func (s *Store) FindingCount(ctx context.Context, scanID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM findings WHERE scan_id = ?`, scanID).Scan(&n)
	return n, err
}

// FindingCounts is FindingCount of every scan of the latest complete scan
// of each branch (LatestScans), by scan ID, in one query.
func (s *Store) FindingCounts(ctx context.Context) (map[int64]int, error) {
	out := map[int64]int{}
	err := eachRow(ctx, s.db, func(rows *sql.Rows) error {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		out[id] = n
		return nil
	}, `SELECT scan_id, count(*) FROM findings WHERE scan_id IN (SELECT MAX(id) FROM scans WHERE `+goodScan+` GROUP BY branch) GROUP BY scan_id`)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DocumentVersions is the latest version of every branch's document
// (LatestDocument's Version, for every branch at once, without the bodies).
func (s *Store) DocumentVersions(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT branch, MAX(version) FROM documents GROUP BY branch`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var b string
		var v int
		if err := rows.Scan(&b, &v); err != nil {
			return nil, err
		}
		out[b] = v
	}
	return out, rows.Err()
}
