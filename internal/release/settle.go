package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// databaseVersion is where an automatic assessment's evidence names the
// database version: a new database that changes no finding changes no
// statement.
var databaseVersion = regexp.MustCompile(`vulnerability database \S+?([,.](?:\s|$))`)

// StatementsHash identifies a document's statements, whatever their
// timestamps and the database version their evidence names: two derivations of a release from the same history and
// evidence hash the same even when made at different times.
func StatementsHash(doc *openvex.VEX) (string, error) {
	sts := make([]openvex.Statement, len(doc.Statements))
	for i, s := range doc.Statements {
		s.Timestamp, s.LastUpdated = nil, nil
		s.ImpactStatement = databaseVersion.ReplaceAllString(s.ImpactStatement, "vulnerability database$1")
		s.StatusNotes = databaseVersion.ReplaceAllString(s.StatusNotes, "vulnerability database$1")
		sts[i] = s
	}
	b, err := jsonx.Compact(sts)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(doc.ID + "\x00" + doc.Author + "\x00" + string(b)))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Settled is a release document placed in the release's history.
type Settled struct {
	Doc  *openvex.VEX
	Hash string
	// Changed is true when the statements differ from the previous version
	// (or there is none): Doc is a new version.
	Changed bool
}

// Settle places a freshly derived release document after the release's
// previous version: the same statements give the previous document back,
// byte for byte; different ones make the next version, first issued when
// the first version was. assemble and update both settle what Assemble
// derived, so they print and publish the same document.
func Settle(doc *openvex.VEX, prev *store.ReleaseDocument, now time.Time) (*Settled, error) {
	h, err := StatementsHash(doc)
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return &Settled{Doc: doc, Hash: h, Changed: true}, nil
	}
	old, err := vex.Parse(prev.Body)
	if err != nil {
		return nil, fmt.Errorf("reading version %d of the VEX of release %s: %w", prev.Version, prev.Release, err)
	}
	if prev.StatementsHash == h {
		return &Settled{Doc: old, Hash: h}, nil
	}
	if old.Timestamp != nil {
		first := old.Timestamp.UTC()
		doc.Timestamp = &first
	}
	ts := now.UTC().Truncate(time.Second)
	doc.LastUpdated = &ts
	doc.Version = prev.Version + 1
	return &Settled{Doc: doc, Hash: h, Changed: true}, nil
}
