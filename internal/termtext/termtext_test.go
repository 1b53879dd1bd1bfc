package termtext

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are texts an outsider can put in a comment, a login, an issue
// title or an OSV entry.
var hostile = []struct{ in, line, text string }{
	{"\x1b]0;pwned\a\x1b[2J\x1b[1;1HAll triages verified OK", `\x1b]0;pwned\x07\x1b[2J\x1b[1;1HAll triages verified OK`, ""},
	{"ok\rforged", `ok\x0dforged`, ""},
	{"a\nb\tc", `a\x0ab\x09c`, "a\nb\tc"},
	{"back\bspace\x7f", `back\x08space\x7f`, ""},
	{"8-bit CSI \u009b2J", `8-bit CSI \u009b2J`, ""},
	{"file\u202egnp.exe", `file\u202egnp.exe`, ""},
	{"\u2066isolate\u2069 \u200fRLM \u061c", `\u2066isolate\u2069 \u200fRLM \u061c`, ""},
	{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`, ""},
	{"tag \U000e0041", `tag \U000e0041`, ""},
	{"line\u2028sep", `line\u2028sep`, ""},
	{"bad \xff\xfe utf8", `bad \xff\xfe utf8`, ""},
	{`typed \x1b and \u202e`, `typed \\x1b and \\u202e`, ""},
	{`C:\path\to`, `C:\path\to`, ""},
	{`C:\Users\x`, `C:\\Users\\x`, ""},
	{`end\`, `end\`, ""},
	{"\\\x1b", `\\\x1b`, ""},
	{"plain ASCII, naïve café 日本語 ✓", "plain ASCII, naïve café 日本語 ✓", ""},
}

func TestHostile(t *testing.T) {
	for _, c := range hostile {
		if got := Line(c.in); got != c.line {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
		}
		want := c.text
		if want == "" {
			want = c.line
		}
		if got := Text(c.in); got != want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, want)
		}
		for _, out := range []string{Line(c.in), Text(c.in)} {
			back, err := Unescape(out)
			if err != nil || back != c.in {
				t.Errorf("Unescape(%q) = %q, %v; want %q", out, back, err, c.in)
			}
		}
	}
	if got := Lines([]string{"a\x1b", "b"}); got[0] != `a\x1b` || got[1] != "b" {
		t.Errorf("Lines = %q", got)
	}
}

// checkSafe fails if out holds anything that acts on a terminal or hides
// from its reader.
func checkSafe(t *testing.T, in, out string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%q escapes to invalid UTF-8 %q", in, out)
	}
	for _, r := range out {
		if (r == '\n' || r == '\t') && multiline {
			continue
		}
		if Unsafe(r) {
			t.Fatalf("%q escapes to %q, which holds %U", in, out, r)
		}
	}
	for _, r := range []string{"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"} {
		if strings.Contains(out, r) {
			t.Fatalf("%q escapes to %q, which holds a bidi control", in, out)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, c := range hostile {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, multiline := range []bool{false, true} {
			out := escape(s, multiline)
			checkSafe(t, s, out, multiline)
			back, err := Unescape(out)
			if err != nil || back != s {
				t.Fatalf("escape(%q, %v) = %q does not invert: %q, %v", s, multiline, out, back, err)
			}
			if safe(s, multiline) && out != s {
				t.Fatalf("safe text %q changed to %q", s, out)
			}
		}
	})
}

type stringer string

type named string

func (s stringer) String() string { return string(s) }

func TestArgs(t *testing.T) {
	got := fmt.Sprintf("%s\t%s\t%v\t%d\t%s\t%s\n", Args("a\x1b", stringer("b\u202e"), []string{"c\a"}, 3, errors.New("e\r"), named("n\x1b"))...)
	if want := "a\\x1b\tb\\u202e\t[c\\x07]\t3\te\\x0d\tn\\x1b\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
