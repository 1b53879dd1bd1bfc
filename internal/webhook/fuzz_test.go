package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/store"
)

// FuzzHandler sends arbitrary bodies and headers. The handler must never
// panic, never answer 5xx to a request the callbacks did not see, and
// never reach a callback without a valid signature of the body.
func FuzzHandler(f *testing.F) {
	comment, _ := json.Marshal(commentEvent("/not_affected:vulnerable_code_not_present"))
	issues, _ := json.Marshal(&github.IssuesEvent{Action: github.Ptr("closed")})
	f.Add(comment, "", "issue_comment", "application/json", "id-1", true)
	f.Add(comment, sign(comment, "other"), "issue_comment", "application/json", "id-2", false)
	f.Add(issues, "", "issues", "application/json", "id-3", true)
	f.Add([]byte(`{"zen":"x"}`), "", "ping", "application/json", "id-4", true)
	f.Add([]byte("payload=%7B%7D"), "", "issue_comment", "application/x-www-form-urlencoded", "id-5", true)
	f.Add([]byte("payload=%ZZ"), "", "issues", "application/x-www-form-urlencoded; charset=utf-8", "id-6", true)
	f.Add([]byte(`{"comment":{"body":5}}`), "", "issue_comment", "application/json", "id-7", true)
	f.Add([]byte(`[]`), "sha256=", "issue_comment", "", "", false)
	f.Add([]byte(`null`), "", "issues", "application/json", "id-8", true)
	f.Add(bytes.Repeat([]byte("a"), 5000), "", "issues", "application/json", "id-9", true)

	st, err := store.Open(context.Background(), f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })

	var called atomic.Int32
	h, err := NewHandler(Options{
		Secret:  []byte(secret),
		Store:   st,
		MaxBody: 4096,
		OnIssueComment: func(ctx context.Context, ev *github.IssueCommentEvent) error {
			called.Add(1)
			return nil
		},
		OnIssues: func(ctx context.Context, ev *github.IssuesEvent) error {
			called.Add(1)
			return nil
		},
	})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, sig, event, contentType, id string, signIt bool) {
		if signIt {
			sig = sign(body, secret)
		}
		req := httptest.NewRequest(http.MethodPost, PathWebhook, bytes.NewReader(body))
		for k, v := range map[string]string{
			github.SHA256SignatureHeader: sig,
			github.EventTypeHeader:       event,
			github.DeliveryIDHeader:      id,
			"Content-Type":               contentType,
		} {
			if v != "" {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
		}
		before := called.Load()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		after := called.Load()

		valid := len(body) <= 4096 && hmac.Equal([]byte(sig), []byte(sign(body, secret)))

		if after != before && !valid {
			t.Fatalf("a callback ran for an invalid signature (status %d)", rec.Code)
		}
		if !valid && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("invalid signature answered %d", rec.Code)
		}
		if rec.Code >= 500 {
			t.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
		if after-before > 1 {
			t.Fatalf("%d callbacks for one delivery", after-before)
		}
	})
}
