package chatops

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// seedComments are the fuzzers' seeds: every comment of the table tests
// and inputs that are, or could be, trouble.
func seedComments() []string {
	var seeds []string
	for _, tc := range kubernetesComments {
		seeds = append(seeds, tc.comment)
	}
	for _, tc := range malformedComments {
		if len(tc.comment) < 4096 {
			seeds = append(seeds, tc.comment)
		}
	}
	return append(seeds,
		"",
		"/",
		"\ufeff\r\n/fixed\r",
		"/fixed /usr/bin/true",
		"/affected ~~~\n~~~\n/x\n~~~",
		"/affected <!--\n/fixed\n-->",
		"/affected > <!--\n/fixed",
		"/fixed branches=a,a,b branches=c",
		"/fixed\nbranches=a",
		"/not_affected:component_not_present\u00a0text\u2028more",
		"/withdraw\t\tbranches=release-1.*\tbecause",
		"- ```\n/fixed\n  ```\n/fixed",
		"`` <!-- `` /x\n/fixed ok",
		"/fixed\x00",
		"/fixed \xff",
		"/FIXED:",
		"   /affected a\n    /b\n   /c",
		"/affected x\n\n\n\u0085\n",
		"> q\n/fixed\n",
		"> > q\n   /fixed\n\n/fixed",
		">\t```\n/fixed\n",
		"> q\n1) /fixed\n2. x\n/fixed",
		"> q\n***\n/fixed",
		"/fixed > q\n/affected x",
	)
}

func FuzzParse(f *testing.F) {
	for _, s := range seedComments() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, comment string) {
		cmds, problems := Parse(comment)
		again, againProblems := Parse(comment)
		if !reflect.DeepEqual(cmds, again) || !reflect.DeepEqual(problems, againProblems) {
			t.Fatalf("Parse is not deterministic")
		}
		if len(comment) > MaxCommentSize {
			if len(cmds) != 0 || len(problems) != 1 || problems[0].Line != 0 {
				t.Fatalf("a comment of %d bytes: %d commands, %v", len(comment), len(cmds), problems)
			}
			return
		}
		if !strings.Contains(comment, "/") && len(cmds)+len(problems) > 0 {
			t.Fatalf("commands or problems in a comment without a slash: %v, %v", cmds, problems)
		}
		normal := strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(comment, "\ufeff"), "\r\n", "\n"), "\r", "\n")
		lines := strings.Split(normal, "\n")
		prev := 0
		for _, c := range cmds {
			checkCommand(t, c)
			if c.Line <= prev || c.Line > len(lines) {
				t.Fatalf("command at line %d after line %d, of %d lines", c.Line, prev, len(lines))
			}
			prev = c.Line
			if first, _, _ := strings.Cut(c.Raw, "\n"); first != lines[c.Line-1] {
				t.Fatalf("Raw starts with %q, line %d is %q", first, c.Line, lines[c.Line-1])
			}
			if !strings.Contains(normal, c.Raw) {
				t.Fatalf("Raw %q is not in the comment", c.Raw)
			}
			checkRoundTrip(t, c)
		}
		for _, p := range problems {
			if p.Line < 1 || p.Line > len(lines) || p.Reason == "" {
				t.Fatalf("problem %#v", p)
			}
			if !utf8.ValidString(p.Written) || strings.ContainsFunc(p.Written, unicode.IsControl) || len(p.Written) > maxShown+16 {
				t.Fatalf("Written %q", p.Written)
			}
			if p.Usage == "" {
				t.Fatalf("problem without usage: %#v", p)
			}
		}
		if len(problems) > 0 {
			checkReply(t, Reply(problems))
		}
	})
}

// checkCommand checks what every command Parse returns must be.
func checkCommand(t *testing.T, c Command) {
	t.Helper()
	if !c.Verb.Valid() {
		t.Fatalf("invalid verb %q", c.Verb)
	}
	if (c.Verb == NotAffected) != c.Justification.Valid() {
		t.Fatalf("%s with justification %q", c.Verb, c.Justification)
	}
	if c.Verb != NotAffected && c.Justification != "" {
		t.Fatalf("%s with justification %q", c.Verb, c.Justification)
	}
	if c.Verb == Affected && strings.TrimSpace(c.Text) == "" {
		t.Fatalf("affected without an action statement: %#v", c)
	}
	if c.Branches != nil && len(c.Branches) == 0 || len(c.Branches) > MaxBranches {
		t.Fatalf("%d branches", len(c.Branches))
	}
	for i, b := range c.Branches {
		if err := CheckBranch(b); err != nil {
			t.Fatalf("branch %q: %v", b, err)
		}
		for _, other := range c.Branches[:i] {
			if other == b {
				t.Fatalf("branch %q twice", b)
			}
		}
	}
	if len(c.Text) > MaxTextSize || !utf8.ValidString(c.Text) {
		t.Fatalf("text of %d bytes, valid UTF-8 %v", len(c.Text), utf8.ValidString(c.Text))
	}
	if strings.ContainsFunc(c.Text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		t.Fatalf("control characters in %q", c.Text)
	}
	if c.Text != strings.TrimRightFunc(c.Text, unicode.IsSpace) || strings.HasPrefix(c.Text, "\n") {
		t.Fatalf("text %q is not trimmed", c.Text)
	}
}

// FuzzReply checks that no problem, whatever a backend puts in it, makes a
// reply that Parse reads a command in, or that holds HTML.
func FuzzReply(f *testing.F) {
	f.Add(3, "/fixed branches=release-1.29", "release-1.29 is not a branch", Usage(Fixed))
	f.Add(0, "", "the comment is too long", "")
	f.Add(1, "/withdraw:`<b>`", "x\n/fixed\n   /affected y", "/fixed — \n/affected")
	f.Add(2, "```", "<!--", "-->\n/fixed")
	f.Fuzz(func(t *testing.T, line int, written, reason, usage string) {
		p := Problem{Line: line, Written: written, Reason: reason, Usage: usage}
		r := Reply([]Problem{p, p})
		if !utf8.ValidString(r) {
			t.Fatalf("the reply is not valid UTF-8")
		}
		checkReply(t, r)
	})
}
