package ghfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzParseBundle feeds arbitrary uploads to the bundle reader: it must
// never panic, and what it accepts has subject digests of the form alg:hex.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(testBundle("https://openvex.dev/ns/v0.2.0", strings.Repeat("ab", 32))))
	f.Add([]byte(testBundle("x")))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{}]}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"!!","payloadType":"application/vnd.in-toto+json","signatures":[{}]}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	digest := regexp.MustCompile(`^[^:]*:`)
	f.Fuzz(func(t *testing.T, b []byte) {
		digests, _, err := parseBundle(json.RawMessage(b))
		if err != nil {
			return
		}
		if len(digests) == 0 {
			t.Fatal("accepted a bundle without subject digests")
		}
		for _, d := range digests {
			if !digest.MatchString(d) {
				t.Fatalf("digest %q is not alg:hex", d)
			}
		}
	})
}

// FuzzServe sends arbitrary requests to a seeded server: it must never
// panic or answer 5xx, every status must be one GitHub uses, and every body
// must be JSON.
func FuzzServe(f *testing.F) {
	s := New(f)
	s.SetNow(func() time.Time { return t0 })
	s.AddToken(testToken, "alice")
	seed := func() {
		s.mu.Lock()
		s.repos = map[string]*repo{}
		s.log = nil
		s.rate = rateState{limit: defaultRateLimit, reset: t0.Add(time.Hour)}
		s.mu.Unlock()
		s.AddIssue(testRepo, IssueInput{Title: "a", Labels: []string{"triage/vex"}})
		s.AddComment(testRepo, 1, "bob", "hi")
		s.mu.Lock()
		r := s.repos[testRepo]
		r.comments[0].reactions = append(r.comments[0].reactions, &reaction{id: 1, user: "bob", content: "eyes", created: t0})
		s.mu.Unlock()
	}
	seed()
	bearer := "Bearer " + testToken
	for _, sd := range []struct{ method, path, body, auth, inm string }{
		{"GET", "/repos/kube/kube/issues?state=all&labels=TRIAGE/VEX&sort=updated&direction=asc&per_page=1&page=2", "", bearer, ""},
		{"GET", "/api/v3/repos/kube/kube/issues/comments?since=2026-01-01T00:00:00Z&sort=created", "", bearer, ""},
		{"POST", "/repos/kube/kube/issues", `{"title":"t","body":"b","labels":["x",{"name":"y"}]}`, bearer, ""},
		{"PATCH", "/repos/kube/kube/issues/1", `{"state":"closed","state_reason":"not_planned","labels":[]}`, bearer, ""},
		{"POST", "/repos/kube/kube/issues/1/labels", `{"labels":["a"]}`, bearer, ""},
		{"PUT", "/repos/kube/kube/issues/1/labels", `["a","b"]`, bearer, ""},
		{"DELETE", "/repos/kube/kube/issues/1/labels/triage%2Fvex", "", bearer, ""},
		{"POST", "/repos/kube/kube/issues/1/comments", `{"body":"/vex"}`, bearer, ""},
		{"PATCH", "/repos/kube/kube/issues/comments/1", `{"body":"edited"}`, bearer, ""},
		{"POST", "/repos/kube/kube/issues/comments/1/reactions", `{"content":"+1"}`, bearer, ""},
		{"GET", "/repos/kube/kube/issues/comments/1/reactions?content=eyes", "", bearer, ""},
		{"POST", "/repos/kube/kube/labels", `{"name":"n","color":"#ABCDEF"}`, bearer, ""},
		{"POST", "/repos/kube/kube/attestations", `{"bundle":` + string(testBundle("p", strings.Repeat("ab", 32))) + `}`, bearer, ""},
		{"GET", "/repos/kube/kube/attestations/sha256:" + strings.Repeat("ab", 32) + "?per_page=1&after=YXR0ZXN0YXRpb246MQ", "", bearer, ""},
		{"POST", "/app/installations/1/access_tokens", "", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x", ""},
		{"GET", "/repos/kube/kube/issues/1", "", bearer, `W/"x", *`},
		{"GET", "/rate_limit", "", "token nope", ""},
		{"GET", "/repos/kube/kube/labels?page=9223372036854775807&per_page=100", "", bearer, ""},
	} {
		f.Add(sd.method, sd.path, sd.body, sd.auth, sd.inm)
	}
	allowed := map[int]bool{200: true, 201: true, 204: true, 304: true, 400: true, 401: true, 403: true, 404: true, 413: true, 422: true}
	f.Fuzz(func(t *testing.T, method, target, body, auth, inm string) {
		if s.Requests() > 200 {
			seed()
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://fake"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Host = "fake"
		req.Header.Set("Authorization", auth)
		req.Header.Set("If-None-Match", inm)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %s: status %d: %s", method, target, rec.Code, rec.Body)
		}
		if rec.Header().Get("X-Ratelimit-Remaining") == "" {
			t.Fatalf("%s %s: no rate-limit headers", method, target)
		}
		if b := rec.Body.Bytes(); len(b) > 0 && !json.Valid(b) {
			t.Fatalf("%s %s: body is not JSON: %q", method, target, b)
		}
	})
}
