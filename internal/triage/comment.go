package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/vexloom/vexloom/internal/store"
)

// MaxCommentSize bounds a comment, as GitHub bounds an issue comment.
const MaxCommentSize = 65536

// HandleComment handles one comment on a triage, whichever way it came
// (a backend's comments read by update, a webhook, `triage comment`, a
// bridged issue): its slash commands are parsed, authorised against the
// OWNERS files and recorded with it (Apply), the commenter is answered on
// backend (nil answers no one), and the triage's state is brought up to
// date. It returns what the comment did and the state changes recorded. A
// comment on a triage the store does not know is store.ErrNotFound.
func HandleComment(ctx context.Context, st *store.Store, rules Rules, backend Backend, c Comment) (Outcome, []Transition, error) {
	out, err := Apply(ctx, st, rules, c)
	if err != nil {
		return out, nil, err
	}
	if backend != nil {
		if err := backend.Answer(ctx, c, out); err != nil {
			return out, nil, fmt.Errorf("answering comment %s: %w", c.Ref, err)
		}
	}
	id := c.TriageID
	if t, err := st.FindTriage(ctx, c.TriageID); err == nil {
		id = t.ID
	}
	trs, err := Reconcile(ctx, st, rules.Maintained, id)
	return out, trs, err
}

// LocalCommentRef identifies a comment made on the local backend (`vexloom
// triage comment`): by its triage, author, text and time.
func LocalCommentRef(triageID, author, body string, at time.Time) string {
	sum := sha256.Sum256([]byte(triageID + "\x00" + author + "\x00" + body + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	return "local:" + hex.EncodeToString(sum[:8])
}
