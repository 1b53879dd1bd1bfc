package ghbackend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-github/v75/github"
)

// TestErrorBodiesCarryNoToken: whatever status GitHub answers with a body
// that echoes the credential, the error go-github builds from it, and the
// response the caller gets, carry no token, without the caller redacting.
func TestErrorBodiesCarryNoToken(t *testing.T) {
	t.Parallel()
	// Shaped like no known token: only the transport knows it is one.
	const token = "plain-s3cr3t-value-1234"
	for _, status := range []int{401, 403, 404, 422, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":"bad credentials %s (%s)","errors":[{"resource":"Issue","field":"title","code":"custom","message":"%s"}],"documentation_url":"https://docs.github.com/rest"}`,
					strings.TrimPrefix(auth, "Bearer "), auth, token)
			}))
			defer srv.Close()
			gh, _, err := NewClient(context.Background(), ClientOptions{API: srv.URL, Token: token, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, resp, err := gh.Issues.ListByRepo(context.Background(), "o", "r", nil)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprintf("%+v", err), token) {
				t.Errorf("the error shows the token: %v", err)
			}
			if resp == nil {
				t.Fatal("no response")
			}
			if resp.Request != nil && strings.Contains(resp.Request.Header.Get("Authorization"), token) {
				t.Error("the response carries the authenticated request")
			}
			if er, ok := err.(*github.ErrorResponse); ok && !strings.Contains(er.Message, Redacted) {
				t.Errorf("message %q: want the token replaced by %s", er.Message, Redacted)
			}
		})
	}
}
