// Package redact keeps credentials out of everything vexloom shows or
// stores: error messages, log records, progress lines and the names of the
// sources it reads. It is the one place that knows what a secret looks
// like: a value the caller knows (a token it sends), anything shaped like a
// GitHub token, a JSON web token or an Authorization credential, and the
// userinfo, query values and fragment of a URL.
package redact

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Mark replaces a secret found in text.
const Mark = "[REDACTED]"

// URLMark replaces the userinfo and each query value of a URL, so that the
// URL keeps its shape (https://xxxxx@host/path?sig=xxxxx).
const URLMark = "xxxxx"

// minSecret is the shortest known secret replaced: replacing shorter ones
// would mangle ordinary text without hiding anything worth hiding.
const minSecret = 4

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

// urlInText matches a URL with a scheme inside free text, up to a space or
// a quote.
var urlInText = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// String returns s with every known secret in it, everything shaped like a
// credential, and the userinfo and query values of every URL in it
// replaced. Known secrets shorter than 4 bytes are ignored.
func String(s string, secrets ...string) string {
	// Longest first, so a secret containing another is replaced whole.
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range sorted {
		if len(sec) >= minSecret {
			s = strings.ReplaceAll(s, sec, Mark)
		}
	}
	for _, re := range tokenPatterns {
		s = re.ReplaceAllString(s, Mark)
	}
	s = authPattern.ReplaceAllString(s, "${1}"+Mark)
	return urlInText.ReplaceAllStringFunc(s, urlText)
}

// urlText redacts a URL found in text, leaving what trails it (a colon or
// a full stop of the sentence) in place.
func urlText(s string) string {
	trimmed := strings.TrimRight(s, ".,:;)]}")
	return textURL(trimmed) + s[len(trimmed):]
}

// textURL hides the userinfo, query values and fragment of a URL written
// in text, keeping everything else byte for byte.
func textURL(s string) string {
	scheme, rest, _ := strings.Cut(s, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = URLMark + rest[at:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	path, query, ok := strings.Cut(rest, "?")
	if !ok {
		return scheme + "://" + path
	}
	return scheme + "://" + path + "?" + maskQuery(query)
}

// maskQuery replaces each value of a raw query.
func maskQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + URLMark
		} else if p != "" {
			// A bare value ("?TOKEN") is a value too.
			parts[i] = URLMark
		}
	}
	return strings.Join(parts, "&")
}

// URL returns u with its userinfo and each query value replaced by
// URLMark and its fragment dropped: any of them can hold a token.
func URL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(URLMark)
	}
	if c.RawQuery != "" {
		c.RawQuery = maskQuery(c.RawQuery)
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// Location returns a place a user named (a URL, a path, a spec like
// zip:https://…) with the credentials of any URL in it hidden. A string
// that does not parse as a URL still loses what lies between "://" and
// the last "@".
func Location(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return URL(u)
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.LastIndex(s, "@"); j > i {
			s = s[:i+3] + URLMark + s[j:]
		}
	}
	return String(s)
}

// Error returns err with its message redacted as String does (nil for
// nil). errors.Is and errors.As still see the original chain.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := String(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message is redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Secrets is a set of credentials in use (a token, an app's JWTs and its
// installation tokens), safe for concurrent use. The zero value is empty.
type Secrets struct {
	mu   sync.Mutex
	list []string
}

// Add records a secret; empty strings are ignored.
func (s *Secrets) Add(sec string) {
	if sec == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.list, sec) {
		s.list = append(s.list, sec)
	}
}

// List returns the secrets of the set.
func (s *Secrets) List() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// String redacts str with the secrets of the set.
func (s *Secrets) String(str string) string { return String(str, s.List()...) }

// Error redacts err with the secrets of the set.
func (s *Secrets) Error(err error) error { return Error(err, s.List()...) }

// Logger wraps l (or a logger that discards, if nil) so that the message
// and every string or error attribute of its records pass through f.
func Logger(l *slog.Logger, f func(string) string) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(handler{next: l.Handler(), redact: f})
}

// handler redacts the records it passes on.
type handler struct {
	next   slog.Handler
	redact func(string) string
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) attr(a slog.Attr) slog.Attr {
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

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return handler{next: h.next.WithAttrs(red), redact: h.redact}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{next: h.next.WithGroup(name), redact: h.redact}
}
