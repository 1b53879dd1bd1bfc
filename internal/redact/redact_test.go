package redact

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const ghToken = "ghp_Abcdefghijklmnop0123456789"

func TestString(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	cases := []struct {
		in, secret, gone, want string
	}{
		{in: "token " + ghToken + " refused", gone: ghToken},
		{in: "Authorization: Bearer abcdefgh12345678", gone: "abcdefgh12345678"},
		{in: `{"authorization":"token abcdefgh12345678"}`, gone: "abcdefgh12345678"},
		{in: "app jwt " + jwt, gone: jwt},
		{in: "installation token s3cr3t-value expired", secret: "s3cr3t-value", gone: "s3cr3t-value"},
		{in: "fine grained github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", gone: "github_pat_11ABCDEFG0123456789"},
		{in: "fatal: unable to access 'https://x:pw1234@h/r/': 403", gone: "pw1234", want: "fatal: unable to access 'https://xxxxx@h/r/': 403"},
		{in: "GET https://h/db.zip?sig=abcdef&x=1: 401 Unauthorized", gone: "abcdef", want: "GET https://h/db.zip?sig=xxxxx&x=xxxxx: 401 Unauthorized"},
		{in: `Get "https://tok3n@h/x#access_token=zzzz": EOF`, gone: "tok3n", want: `Get "https://xxxxx@h/x": EOF`},
		{in: "https://h/a?bareTOKEN", gone: "bareTOKEN", want: "https://h/a?xxxxx"},
	}
	for _, c := range cases {
		got := String(c.in, c.secret)
		if strings.Contains(got, c.gone) {
			t.Errorf("String(%q) = %q keeps %q", c.in, got, c.gone)
		}
		if c.want != "" && got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, keep := range []string{"the token expired at noon", "listing issues in kubernetes/vex: 502 Bad Gateway", "a",
		"see https://github.com/kubernetes/kubernetes/issues/3.", "/local/path"} {
		if got := String(keep, "a", ""); got != keep {
			t.Errorf("String(%q) = %q, want it unchanged", keep, got)
		}
	}
}

func TestLocation(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@mirror.example/db":      "https://xxxxx@mirror.example/db",
		"https://tok@github.com/o/r.git":         "https://xxxxx@github.com/o/r.git",
		"https://osv.example/all.zip?sig=x":      "https://osv.example/all.zip?sig=xxxxx",
		"https://osv.example/a#frag":             "https://osv.example/a",
		"zip:https://tok@osv.example/a":          "zip:https://xxxxx@osv.example/a",
		"https://u:p@bad host/%zz":               "https://xxxxx@bad host/%zz",
		"/local/path":                            "/local/path",
		"file:///srv/db":                         "file:///srv/db",
		"ssh://git@github.com/kubernetes/k8s.io": "ssh://xxxxx@github.com/kubernetes/k8s.io",
	} {
		if got := Location(in); got != want {
			t.Errorf("Location(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURL(t *testing.T) {
	u, _ := url.Parse("https://a:b@h.example/p?k=v&k=w#f")
	if got, want := URL(u), "https://xxxxx@h.example/p?k=xxxxx&k=xxxxx"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if u.User == nil || u.Fragment != "f" {
		t.Error("URL changed its argument")
	}
}

func TestError(t *testing.T) {
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("nothing secret")
	if Error(plain) != plain {
		t.Error("an error without secrets is replaced")
	}
	err := Error(fmtErr("opening "+ghToken, fs.ErrNotExist))
	if strings.Contains(err.Error(), ghToken) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error = %v (keeps the chain: %v)", err, errors.Is(err, fs.ErrNotExist))
	}
	var s Secrets
	s.Add("")
	s.Add("hunter22")
	s.Add("hunter22")
	if got := s.Error(errors.New("pw hunter22")).Error(); got != "pw "+Mark {
		t.Errorf("Secrets.Error = %q", got)
	}
}

type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }

func fmtErr(msg string, err error) error { return wrapped{msg, err} }

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	var s Secrets
	s.Add("hunter22")
	l := Logger(slog.New(slog.NewTextHandler(&buf, nil)), s.String)
	l.With("pre", "hunter22").WithGroup("g").Info("msg hunter22", "err", errors.New("e hunter22"), "n", 3, slog.Group("in", "k", "Bearer abcdefgh1234"))
	if strings.Contains(buf.String(), "hunter22") || strings.Contains(buf.String(), "abcdefgh1234") {
		t.Errorf("the log shows a secret:\n%s", buf.String())
	}
	Logger(nil, s.String).Info("discarded")
}

// FuzzString: whatever surrounds a known secret, it does not survive; and
// the userinfo of a URL never does.
func FuzzString(f *testing.F) {
	f.Add("error: ", "ghs_abcdef123", " expired")
	f.Add("Authorization: Bearer ", "xyzxyzxyz", "")
	f.Add("", "aaaa", "aaaa")
	f.Add("GET https://", "user:pass", "@host/x: 401")
	f.Fuzz(func(t *testing.T, before, secret, after string) {
		if len(secret) < minSecret || !utf8.ValidString(secret) || strings.Contains(secret, "\x00") {
			return
		}
		got := String(before+secret+after, secret)
		// The marks may themselves hold the secret's letters ("DACT").
		rest := strings.ReplaceAll(strings.ReplaceAll(got, Mark, "\x00"), URLMark, "\x00")
		if strings.Contains(rest, secret) {
			t.Fatalf("String(%q) = %q keeps the secret", before+secret+after, got)
		}
		if got := String(got, secret); got != String(got, secret) {
			t.Fatalf("String is not deterministic on %q", got)
		}
	})
}

// FuzzLocation: a URL's password and query values never survive.
func FuzzLocation(f *testing.F) {
	f.Add("https://u:secretpw@h/p?tok=secretq")
	f.Add("zip:https://secretpw@h/a.zip")
	f.Fuzz(func(t *testing.T, s string) {
		got := Location(s)
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return
		}
		if pw, ok := u.User.Password(); ok && len(pw) >= minSecret && !strings.Contains(URLMark, pw) && strings.Contains(got, ":"+pw+"@") {
			t.Fatalf("Location(%q) = %q keeps the password", s, got)
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= minSecret && !strings.Contains(URLMark, v) && strings.Contains(got, "="+v) {
					t.Fatalf("Location(%q) = %q keeps the query value %q", s, got, v)
				}
			}
		}
	})
}
