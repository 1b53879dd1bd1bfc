package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// releasesMigration adds the tracked releases: every version of each
// release's document with the bundle that signs it, the image digests each
// release's references resolved to, what was pushed where, and the inputs
// each release was last derived from.
var releasesMigration = `
CREATE TABLE release_documents (
	release         TEXT NOT NULL,
	version         INTEGER NOT NULL,
	branch          TEXT NOT NULL,
	commit_hash     TEXT NOT NULL,
	statements_hash TEXT NOT NULL,
	decisions       TEXT NOT NULL,
	at              TEXT NOT NULL,
	body            BLOB NOT NULL,
	bundle          BLOB NOT NULL,
	PRIMARY KEY (release, version)
);

CREATE TABLE release_images (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	release      TEXT NOT NULL,
	reference    TEXT NOT NULL,
	repository   TEXT NOT NULL,
	index_digest TEXT NOT NULL,
	platform     TEXT NOT NULL,
	digest       TEXT NOT NULL,
	at           TEXT NOT NULL
);
CREATE INDEX release_images_release ON release_images(release, seq);

CREATE TABLE release_publications (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	release   TEXT NOT NULL,
	version   INTEGER NOT NULL,
	store     TEXT NOT NULL,
	location  TEXT NOT NULL,
	object_id TEXT NOT NULL,
	at        TEXT NOT NULL
);
CREATE INDEX release_publications_release ON release_publications(release, version);

CREATE TABLE release_checks (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	release TEXT NOT NULL,
	inputs  TEXT NOT NULL,
	at      TEXT NOT NULL
);
CREATE INDEX release_checks_release ON release_checks(release, seq);
` + appendOnly("release_documents", "release_images", "release_publications", "release_checks")

// releaseBinariesMigration adds the Go executables each tracked release was
// covered with: what identifies each in a statement (name, digest, main
// package and module) and the modules built into it, so that a release
// whose binaries vanished stays covered for them.
var releaseBinariesMigration = `
CREATE TABLE release_binaries (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	release    TEXT NOT NULL,
	name       TEXT NOT NULL,
	digest     TEXT NOT NULL,
	size       INTEGER NOT NULL,
	package    TEXT NOT NULL,
	module     TEXT NOT NULL,
	version    TEXT NOT NULL,
	go_version TEXT NOT NULL,
	modules    TEXT NOT NULL,
	at         TEXT NOT NULL
);
CREATE INDEX release_binaries_release ON release_binaries(release, seq);
` + appendOnly("release_binaries")

// ReleaseDocument is a version of a tracked release's VEX document.
type ReleaseDocument struct {
	Release string
	Version int
	Branch  string
	Commit  string
	// StatementsHash identifies the statements, timestamps aside: a new
	// version is written only when it changes.
	StatementsHash string
	// Decisions maps each triage stated to the Seq of the decision stated.
	Decisions map[string]int64
	At        time.Time
	Body      []byte
	// Bundle is the Sigstore bundle of the published (policy-applied)
	// document; empty when nothing in it was public.
	Bundle []byte
}

// ReleaseImage is one platform image a release's image reference resolved
// to, recorded once: a tag that moves later is reported, not followed.
type ReleaseImage struct {
	Release    string
	Reference  string
	Repository string
	Index      string
	Platform   string
	Digest     string
	At         time.Time
}

// ReleaseBinary is a Go executable a release was covered with, recorded
// the first time it was: when it is no longer in the release's binaries
// directory, the release stays covered for it by these records.
type ReleaseBinary struct {
	Release string
	// Name is the file's name in the binaries directory.
	Name string
	// Digest is "sha256:" and the file's hex digest.
	Digest  string
	Size    int64
	Package string
	Module  string
	Version string
	// GoVersion is the toolchain that built it.
	GoVersion string
	// Modules are the modules built into it (its main module and
	// dependencies): path → version.
	Modules map[string]string
	At      time.Time
}

// ReleasePublication is a release document version pushed to a store.
type ReleasePublication struct {
	Release  string
	Version  int
	Store    string
	Location string
	ID       string
	At       time.Time
}

// RecordReleaseDocument stores a new version of a release's document.
// Versions only grow: recording one that exists fails.
func (s *Store) RecordReleaseDocument(ctx context.Context, d ReleaseDocument) error {
	return s.tx(ctx, func(tx *Tx) error {
		bundle := d.Bundle
		if bundle == nil {
			bundle = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO release_documents (release, version, branch, commit_hash, statements_hash, decisions, at, body, bundle) VALUES (?,?,?,?,?,?,?,?,?)`,
			d.Release, d.Version, d.Branch, d.Commit, d.StatementsHash, mustJSON(d.Decisions), stamp(d.At), d.Body, bundle); err != nil {
			return fmt.Errorf("recording version %d of the VEX of release %s: %w", d.Version, d.Release, err)
		}
		return nil
	})
}

const releaseDocumentColumns = `release, version, branch, commit_hash, statements_hash, decisions, at, body, bundle`

func scanReleaseDocument(sc interface{ Scan(...any) error }) (ReleaseDocument, error) {
	var d ReleaseDocument
	var at, decisions string
	if err := sc.Scan(&d.Release, &d.Version, &d.Branch, &d.Commit, &d.StatementsHash, &decisions, &at, &d.Body, &d.Bundle); err != nil {
		return d, err
	}
	d.At = parseStamp(at)
	if decisions != "" {
		if err := json.Unmarshal([]byte(decisions), &d.Decisions); err != nil {
			return d, fmt.Errorf("decisions of release %s version %d: %w", d.Release, d.Version, err)
		}
	}
	if len(d.Bundle) == 0 {
		d.Bundle = nil
	}
	return d, nil
}

// LatestReleaseDocument returns the newest version of a release's
// document; ErrNotFound when none was written.
func (s *Store) LatestReleaseDocument(ctx context.Context, release string) (*ReleaseDocument, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+releaseDocumentColumns+` FROM release_documents WHERE release = ? ORDER BY version DESC LIMIT 1`, release)
	d, err := scanReleaseDocument(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("VEX of release %s: %w", release, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// ReleaseDocuments returns every version of a release's document, oldest
// first; with release "" every release's.
func (s *Store) ReleaseDocuments(ctx context.Context, release string) ([]ReleaseDocument, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (ReleaseDocument, error) { return scanReleaseDocument(rows) }, `SELECT `+releaseDocumentColumns+` FROM release_documents WHERE ? = '' OR release = ? ORDER BY release, version`, release, release)
}

// ReleaseOrigins returns the first version of every release's document
// (with release "" ; else of that release's), oldest release name first,
// without its body and bundle: where each release was first covered
// (commit, branch, time), read on every update without reading any
// document.
func (s *Store) ReleaseOrigins(ctx context.Context, release string) ([]ReleaseDocument, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (ReleaseDocument, error) {
		var d ReleaseDocument
		var at string
		err := rows.Scan(&d.Release, &d.Version, &d.Branch, &d.Commit, &d.StatementsHash, &at)
		d.At = parseStamp(at)
		return d, err
	}, `SELECT release, version, branch, commit_hash, statements_hash, at FROM release_documents d
WHERE (? = '' OR release = ?) AND version = (SELECT MIN(version) FROM release_documents f WHERE f.release = d.release)
ORDER BY release`, release, release)
}

// RecordReleaseImages records what a release's image reference resolved to.
func (s *Store) RecordReleaseImages(ctx context.Context, imgs []ReleaseImage) error {
	return s.tx(ctx, func(tx *Tx) error {
		for _, im := range imgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO release_images (release, reference, repository, index_digest, platform, digest, at) VALUES (?,?,?,?,?,?,?)`,
				im.Release, im.Reference, im.Repository, im.Index, im.Platform, im.Digest, stamp(im.At)); err != nil {
				return fmt.Errorf("recording the image %s of release %s: %w", im.Reference, im.Release, err)
			}
		}
		return nil
	})
}

// ReleaseImages returns the platform images recorded for a release, in the
// order recorded.
func (s *Store) ReleaseImages(ctx context.Context, release string) ([]ReleaseImage, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (ReleaseImage, error) {
		var im ReleaseImage
		var at string
		err := rows.Scan(&im.Release, &im.Reference, &im.Repository, &im.Index, &im.Platform, &im.Digest, &at)
		im.At = parseStamp(at)
		return im, err
	}, `SELECT release, reference, repository, index_digest, platform, digest, at FROM release_images WHERE release = ? ORDER BY seq`, release)
}

// RecordReleaseBinaries records the binaries a release was covered with.
func (s *Store) RecordReleaseBinaries(ctx context.Context, bins []ReleaseBinary) error {
	return s.tx(ctx, func(tx *Tx) error {
		for _, b := range bins {
			mods := b.Modules
			if mods == nil {
				mods = map[string]string{}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO release_binaries (release, name, digest, size, package, module, version, go_version, modules, at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
				b.Release, b.Name, b.Digest, b.Size, b.Package, b.Module, b.Version, b.GoVersion, mustJSON(mods), stamp(b.At)); err != nil {
				return fmt.Errorf("recording the binary %s of release %s: %w", b.Name, b.Release, err)
			}
		}
		return nil
	})
}

// ReleaseBinaries returns the binaries recorded for a release, in the
// order recorded.
func (s *Store) ReleaseBinaries(ctx context.Context, release string) ([]ReleaseBinary, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (ReleaseBinary, error) {
		var b ReleaseBinary
		var at, mods string
		if err := rows.Scan(&b.Release, &b.Name, &b.Digest, &b.Size, &b.Package, &b.Module, &b.Version, &b.GoVersion, &mods, &at); err != nil {
			return b, err
		}
		b.At = parseStamp(at)
		if err := json.Unmarshal([]byte(mods), &b.Modules); err != nil {
			return b, fmt.Errorf("modules of the binary %s of release %s: %w", b.Name, b.Release, err)
		}
		return b, nil
	}, `SELECT release, name, digest, size, package, module, version, go_version, modules, at FROM release_binaries WHERE release = ? ORDER BY seq`, release)
}

// RecordReleasePublication records that a version was pushed to a store.
// Call it only after the store accepted it.
func (s *Store) RecordReleasePublication(ctx context.Context, p ReleasePublication) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO release_publications (release, version, store, location, object_id, at) VALUES (?,?,?,?,?,?)`,
			p.Release, p.Version, p.Store, p.Location, p.ID, stamp(p.At))
		return err
	})
}

// ReleasePublications returns what was pushed for a release, oldest first.
func (s *Store) ReleasePublications(ctx context.Context, release string) ([]ReleasePublication, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (ReleasePublication, error) {
		var p ReleasePublication
		var at string
		err := rows.Scan(&p.Release, &p.Version, &p.Store, &p.Location, &p.ID, &at)
		p.At = parseStamp(at)
		return p, err
	}, `SELECT release, version, store, location, object_id, at FROM release_publications WHERE release = ? ORDER BY seq`, release)
}

// RecordReleaseCheck records the inputs a release was last derived from.
func (s *Store) RecordReleaseCheck(ctx context.Context, release, inputs string) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO release_checks (release, inputs, at) VALUES (?,?,?)`, release, inputs, stamp(s.now()))
		return err
	})
}

// ReleaseChecks returns the inputs each release was last derived from.
func (s *Store) ReleaseChecks(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := eachRow(ctx, s.db, func(rows *sql.Rows) error {
		var r, in string
		err := rows.Scan(&r, &in)
		out[r] = in
		return err
	}, `SELECT release, inputs FROM release_checks ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecisionMark is a fingerprint of every person's and advisory's decision
// and withdrawal: it changes whenever one is recorded.
func (s *Store) DecisionMark(ctx context.Context) (string, error) {
	var n, max int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events WHERE kind IN (?, ?) AND source != 'automatic'`,
		string(KindAssessment), string(KindWithdrawal)).Scan(&n, &max)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d", n, max), nil
}
