package chatops

import (
	"fmt"
	"strings"
)

// maxReplied bounds how many problems a reply explains; a comment full of
// broken commands gets the first few and a count of the rest.
const maxReplied = 10

// Reply explains problems in a short Markdown reply: what is wrong with
// each and the right form. It holds no HTML, and every line of it starts
// with text that is not "/", so Parse reads no command in it. Reply(nil) is
// "".
func Reply(problems []Problem) string {
	if len(problems) == 0 {
		return ""
	}
	var b strings.Builder
	if len(problems) == 1 {
		b.WriteString("vexloom found a problem in this comment:\n\n")
	} else {
		fmt.Fprintf(&b, "vexloom found %d problems in this comment:\n\n", len(problems))
	}
	for i, p := range problems {
		if i == maxReplied {
			fmt.Fprintf(&b, "- and %d more.\n", len(problems)-maxReplied)
			break
		}
		b.WriteString("- ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "Line %d", p.Line)
		} else {
			b.WriteString("The comment")
		}
		if p.Written != "" {
			fmt.Fprintf(&b, ", %s", code(oneLine(shown(p.Written))))
		}
		fmt.Fprintf(&b, ": %s", escapeHTML(strings.TrimSuffix(oneLine(p.Reason), ".")))
		b.WriteString(".\n")
		if p.Usage != "" {
			form, explanation, ok := strings.Cut(oneLine(p.Usage), usageSeparator)
			fmt.Fprintf(&b, "  Write it as %s", code(form))
			if ok {
				fmt.Fprintf(&b, ": %s", escapeHTML(strings.TrimSuffix(explanation, ".")))
			}
			b.WriteString(".\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// oneLine makes s one line of valid UTF-8: its lines joined with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// escapeHTML escapes the angle brackets of Markdown text outside its code
// spans, so that nothing in it is read as HTML.
func escapeHTML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '`':
			n := backtickRun(s[i:])
			if end := closingBackticks(s[i+n:], n); end >= 0 {
				b.WriteString(s[i : i+n+end+n])
				i += n + end + n
				continue
			}
			b.WriteString(s[i : i+n])
			i += n
			continue
		case '<', '>':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// code returns s as a Markdown code span, which shows it literally
// whatever it holds: the fence is one backtick longer than the longest run
// of backticks in s, and padded with spaces when s would otherwise touch
// it or lose a space at its ends.
func code(s string) string {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s == "" || s[0] == '`' || s[0] == ' ' || s[len(s)-1] == '`' || s[len(s)-1] == ' ' {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
