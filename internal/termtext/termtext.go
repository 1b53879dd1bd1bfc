// Package termtext makes text from outside (comments, logins, issue
// titles, OSV summaries and details, advisory texts, OWNERS content) safe
// to write to a terminal. Such text is stored verbatim and written exactly
// in JSON; wherever a person reads it on a terminal, whatever could act on
// the terminal or hide from the reader is shown as a visible escape:
//
//   - C0 controls (ESC, BEL, CR, backspace, …) and DEL, as \x1b;
//   - C1 controls (U+0080–U+009F, among them the 8-bit CSI), as \u009b;
//   - bidirectional overrides, embeddings, isolates and marks (U+202A–
//     U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width and other
//     invisible format characters (Unicode category Cf) and the line and
//     paragraph separators, as \u202e (\U000e0041 above U+FFFF);
//   - bytes that are not UTF-8, as \xff.
//
// A backslash that precedes an escape, an x, a u, a U or another
// backslash is doubled, so an escape in the output always stands for
// what it names and never for the same letters typed by someone: the
// mapping is injective, and Unescape inverts it.
package termtext

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text escapes s for a terminal, keeping its newlines and tabs: for
// multi-line text such as a comment.
func Text(s string) string { return escape(s, true) }

// Line escapes s for one line or one table cell: newlines and tabs are
// escaped too.
func Line(s string) string { return escape(s, false) }

// Lines escapes each string of ss with Line.
func Lines(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Line(s)
	}
	return out
}

// Unsafe reports whether r is written as an escape (in Line mode).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028', r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

func escape(s string, multiline bool) string {
	if safe(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			if startsEscape(s[i+size:], multiline) {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x80 && Unsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// safe reports whether s is written as it is.
func safe(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			i++
			continue
		}
		if multiline && (c == '\n' || c == '\t') {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || r == '\\' && startsEscape(s[i+1:], multiline) || Unsafe(r) {
			return false
		}
		i += size
	}
	return true
}

// startsEscape reports whether what follows a backslash would make it
// read as the start of an escape: another backslash, x, u or U, or a
// character written as an escape.
func startsEscape(rest string, multiline bool) bool {
	if rest == "" {
		return false
	}
	switch rest[0] {
	case '\\', 'x', 'u', 'U':
		return true
	}
	r, size := utf8.DecodeRuneInString(rest)
	if r == utf8.RuneError && size <= 1 {
		return true
	}
	if multiline && (r == '\n' || r == '\t') {
		return false
	}
	return Unsafe(r)
}

// Unescape returns the text Text or Line escaped: the inverse of both.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		var n int
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
			continue
		case 'x':
			n = 2
		case 'u':
			n = 4
		case 'U':
			n = 8
		default:
			b.WriteByte('\\')
			continue
		}
		if i+2+n > len(s) {
			return "", fmt.Errorf("truncated escape at byte %d", i)
		}
		v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
		if err != nil {
			return "", fmt.Errorf("bad escape at byte %d: %w", i, err)
		}
		if n == 2 {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		i += 1 + n
	}
	return b.String(), nil
}

// Args returns args with every string (of any string type), []string,
// error and fmt.Stringer replaced by its Line escape, for a line or table row whose format is
// the program's own: fmt.Fprintf(w, "%s\t%s\n", termtext.Args(a, b)...).
// Other values (numbers, times) pass as they are.
func Args(args ...any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Line(v)
		case []string:
			out[i] = Lines(v)
		case error:
			out[i] = Line(v.Error())
		case fmt.Stringer:
			out[i] = Line(v.String())
		default:
			// A named string type (a status, a branch name).
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				out[i] = Line(rv.String())
			} else {
				out[i] = a
			}
		}
	}
	return out
}
