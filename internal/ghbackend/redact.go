package ghbackend

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces every secret Redact finds.
const Redacted = "[REDACTED]"

// tokenPatterns match credentials whatever issued them: GitHub's token
// formats (personal, OAuth, user-to-server, server-to-server, refresh, fine
// grained) and JSON web tokens (three base64url parts, the first two JSON
// objects).
var tokenPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,})`),
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`),
}

// authPattern matches the credential of an Authorization header or a
// Bearer scheme; group 1 is what precedes it.
var authPattern = regexp.MustCompile(`(?i)(\bauthorization\b["']?\s*[:=]\s*["']?(?:(?:bearer|token|basic)\s+)?|\bbearer\s+)[A-Za-z0-9_\-.~+/]{8,}=*`)

// Redact returns s with every secret in it, and everything shaped like a
// GitHub token, a JSON web token or an Authorization credential, replaced
// by [Redacted]. Secrets shorter than 4 bytes are ignored: replacing them
// would mangle ordinary text without hiding anything worth hiding.
func Redact(s string, secrets ...string) string {
	// Longest first, so a secret containing another is replaced whole.
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range sorted {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	for _, re := range tokenPatterns {
		s = re.ReplaceAllString(s, Redacted)
	}
	return authPattern.ReplaceAllString(s, "${1}"+Redacted)
}

// secrets is the set of credentials a Transport has used: the token, the
// app's JWTs and its installation tokens.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(sec string) {
	if sec == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.list, sec) {
		s.list = append(s.list, sec)
	}
}

func (s *secrets) redact(str string) string {
	s.mu.Lock()
	list := slices.Clone(s.list)
	s.mu.Unlock()
	return Redact(str, list...)
}

// redactedError is an error whose message is redacted; errors.Is and As
// still see the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactingHandler redacts the message and every string attribute of the
// log records it passes on.
type redactingHandler struct {
	next   slog.Handler
	redact func(string) string
}

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		var as []any
		for _, g := range v.Group() {
			as = append(as, h.attr(g))
		}
		return slog.Group(a.Key, as...)
	case slog.KindString:
		return slog.String(a.Key, h.redact(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.redact(err.Error()))
		}
		return slog.String(a.Key, h.redact(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return redactingHandler{next: h.next.WithAttrs(red), redact: h.redact}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{next: h.next.WithGroup(name), redact: h.redact}
}

// redactingLogger wraps l (or a logger that discards, if nil) so nothing it
// writes carries a credential.
func redactingLogger(l *slog.Logger, redact func(string) string) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(redactingHandler{next: l.Handler(), redact: redact})
}
