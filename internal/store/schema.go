package store

// migrations are applied in order, each in its own transaction, and
// recorded in schema_migrations. A migration is never edited once released:
// a change is a new migration.
//
// Every table is append-only: triggers refuse UPDATE and DELETE, so the
// history can only grow and the current state is always derived from it.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE scans (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	branch       TEXT NOT NULL,
	commit_hash  TEXT NOT NULL,
	commit_time  TEXT NOT NULL,
	tool         TEXT NOT NULL,
	engine       TEXT NOT NULL,
	db_source    TEXT NOT NULL,
	db_version   TEXT NOT NULL,
	db_digest    TEXT NOT NULL,
	at           TEXT NOT NULL,
	modules      TEXT NOT NULL
);
CREATE INDEX scans_branch ON scans(branch, id);

CREATE TABLE findings (
	scan_id            INTEGER NOT NULL REFERENCES scans(id),
	module             TEXT NOT NULL,
	module_version     TEXT NOT NULL,
	vuln_id            TEXT NOT NULL,
	dependency         TEXT NOT NULL,
	dependency_version TEXT NOT NULL,
	level              INTEGER NOT NULL,
	fixed_version      TEXT NOT NULL,
	go_version         TEXT NOT NULL,
	detail             TEXT NOT NULL
);
CREATE INDEX findings_scan ON findings(scan_id);

CREATE TABLE vulnerabilities (
	id       TEXT NOT NULL,
	modified TEXT NOT NULL,
	data     TEXT NOT NULL,
	PRIMARY KEY (id, modified)
);
CREATE TABLE aliases (
	alias   TEXT NOT NULL,
	vuln_id TEXT NOT NULL,
	PRIMARY KEY (alias, vuln_id)
);

CREATE TABLE triages (
	id         TEXT PRIMARY KEY,
	vuln_id    TEXT NOT NULL,
	dependency TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (vuln_id, dependency)
);

CREATE TABLE events (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	triage_id     TEXT NOT NULL REFERENCES triages(id),
	kind          TEXT NOT NULL,
	at            TEXT NOT NULL,
	author        TEXT NOT NULL,
	source        TEXT NOT NULL,
	branches      TEXT NOT NULL,
	status        TEXT NOT NULL,
	justification TEXT NOT NULL,
	impact        TEXT NOT NULL,
	action        TEXT NOT NULL,
	notes         TEXT NOT NULL,
	command       TEXT NOT NULL,
	comment_ref   TEXT NOT NULL,
	retracts      INTEGER NOT NULL,
	evidence      TEXT NOT NULL,
	data          TEXT NOT NULL
);
CREATE INDEX events_triage ON events(triage_id, seq);

CREATE TABLE comments (
	ref        TEXT PRIMARY KEY,
	triage_id  TEXT NOT NULL REFERENCES triages(id),
	author     TEXT NOT NULL,
	at         TEXT NOT NULL,
	body       TEXT NOT NULL,
	url        TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	reply      TEXT NOT NULL,
	recorded   TEXT NOT NULL
);

CREATE TABLE acks (
	ref        TEXT NOT NULL,
	kind       TEXT NOT NULL,
	at         TEXT NOT NULL,
	remote_ref TEXT NOT NULL,
	PRIMARY KEY (ref, kind)
);

CREATE TABLE documents (
	branch       TEXT NOT NULL,
	version      INTEGER NOT NULL,
	content_hash TEXT NOT NULL,
	path         TEXT NOT NULL,
	at           TEXT NOT NULL,
	body         BLOB NOT NULL,
	PRIMARY KEY (branch, version)
);

CREATE TABLE cursors (
	seq   INTEGER PRIMARY KEY AUTOINCREMENT,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	at    TEXT NOT NULL
);
CREATE INDEX cursors_key ON cursors(key, seq);
` + appendOnly("scans", "findings", "vulnerabilities", "aliases", "triages", "events", "comments", "acks", "documents", "cursors"),

	// 2: scans that did not complete. A failed scan is not an empty scan:
	// it is recorded here, never in scans, so the branch keeps its last
	// good scan while status can say since when and why it fails.
	// after_scan is the id of the branch's latest good scan when the
	// attempt failed (0 when there was none).
	`
CREATE TABLE scan_failures (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	branch      TEXT NOT NULL,
	commit_hash TEXT NOT NULL,
	after_scan  INTEGER NOT NULL,
	at          TEXT NOT NULL,
	reason      TEXT NOT NULL,
	modules     TEXT NOT NULL
);
CREATE INDEX scan_failures_branch ON scan_failures(branch, id);
` + appendOnly("scan_failures"),

	// 3: engine outputs by the ID of their cache key (scan.CacheKey), so
	// that runners sharing a store never repeat a scan one of them did.
	`
CREATE TABLE scan_outputs (
	key  TEXT PRIMARY KEY,
	at   TEXT NOT NULL,
	body BLOB NOT NULL
);
` + appendOnly("scan_outputs"),

	// 4: the rounds of runners sharing a store. A runner that does a
	// round's shared work (comments, every branch's document, the
	// backend's sync, the feed) records when it began and when it was
	// done (done rows name their begun row in ref), so a runner whose
	// branch work a later round already covered does not do it again.
	`
CREATE TABLE rounds (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	kind   TEXT NOT NULL,
	ref    INTEGER NOT NULL,
	runner TEXT NOT NULL,
	at     TEXT NOT NULL
);
CREATE INDEX rounds_kind ON rounds(kind, ref);
` + appendOnly("rounds"),

	// 5: the tracked releases (releases.go).
	releasesMigration,

	// 6: the Go executables each tracked release was covered with
	// (releases.go).
	releaseBinariesMigration,

	// 7: every triage's derivation kept between runs (views.go).
	viewsMigration,

	// 8: the scans whose findings are observed: a scan counts as its
	// branch's latest only once every triage it found has been recorded
	// (records.go, MarkObserved). Scans recorded before are.
	`
CREATE TABLE scan_observed (
	scan_id INTEGER PRIMARY KEY,
	at      TEXT NOT NULL
);
INSERT INTO scan_observed (scan_id, at) SELECT id, at FROM scans;
` + appendOnly("scan_observed"),
}

// appendOnly returns triggers that refuse UPDATE and DELETE on tables.
func appendOnly(tables ...string) string {
	var s string
	for _, t := range tables {
		s += `
CREATE TRIGGER ` + t + `_no_update BEFORE UPDATE ON ` + t + ` BEGIN SELECT RAISE(ABORT, '` + t + ` is append-only'); END;
CREATE TRIGGER ` + t + `_no_delete BEFORE DELETE ON ` + t + ` BEGIN SELECT RAISE(ABORT, '` + t + ` is append-only'); END;`
	}
	return s
}
