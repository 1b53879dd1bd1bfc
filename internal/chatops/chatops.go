// Package chatops is the slash-command language in which maintainers answer
// vexloom's vulnerability triages. Every triage backend (comments on GitHub
// issues, the local CLI) reads comments with [Parse] and answers malformed
// commands with [Reply]; each command becomes an OpenVEX statement about the
// triage's vulnerability on some or all of its branches.
//
// # Commands
//
//	/not_affected:<justification> [branches=A,B] [impact statement]
//	/affected [branches=A,B] <action statement>
//	/fixed [branches=A,B] [note]
//	/under_investigation [branches=A,B] [note]
//	/withdraw [branches=A,B] [reason]
//
// /not_affected says the vulnerability cannot be exploited on those
// branches, for the reason its justification names; the justification is
// one of OpenVEX's five:
//
//	component_not_present                              the vulnerable component is not in the product
//	vulnerable_code_not_present                        the component is, the vulnerable code is not
//	vulnerable_code_not_in_execute_path                the vulnerable code is there but never runs
//	vulnerable_code_cannot_be_controlled_by_adversary  it runs, but an attacker cannot reach it with their input
//	inline_mitigations_already_exist                   built-in protections prevent exploitation
//
// Its text, when given, becomes the statement's impact statement.
//
// /affected says the vulnerability can be exploited; its text is required
// and becomes the action statement (what users should do).
//
// /fixed (the branches no longer contain the vulnerability) and
// /under_investigation (not yet known) take an optional note.
//
// /withdraw retracts the latest maintainer decision (on those branches, or
// on any branch without branches=). It may carry a short reason, kept as a
// note.
//
// # Writing commands
//
//   - A command starts a line: "/" is the line's first character, after at
//     most three spaces (a line indented further is Markdown code).
//   - Command words are case-insensitive, and hyphens may stand for
//     underscores, as in Prow's commands: /not-affected, /Under-Investigation.
//     The justification follows the colon with no space, in either
//     spelling: /not-affected:vulnerable-code-not-present.
//   - branches= (or branch=) is optional, and only recognised as the first
//     word after the command (and its justification). It lists branch names
//     or glob patterns in the syntax of Go's path.Match (release-1.*),
//     separated by commas without spaces; duplicates are dropped. Each must
//     be a plausible git branch name of at most 255 bytes: letters, digits
//     and . _ - / + @ # %, plus * ? [ ] in patterns; without ".." or "//";
//     not starting with "-" or "/", nor ending with "/" or "."; no part
//     between slashes starting with "." or ending with ".lock". At most 32
//     of them. Without branches= a command is about
//     every branch of the triage; the caller checks the names against the
//     triage's branches.
//   - The text is the rest of the command's line, followed by the next
//     lines up to the next line that starts with "/" (any bot's command,
//     such as /lgtm, or a path) or the end of the comment. It is kept as
//     written: line breaks, blank lines, lists and other Markdown; only the
//     blank lines before it and the white space after it are dropped. The
//     rest of the command's line is read as if it began a line of its own,
//     and lines starting with "/" inside a code fence or an HTML comment
//     belong to the text. A text is at most 16 KiB.
//   - One comment may hold several commands (for example two with different
//     branches=); they are returned in the order written.
//
// # What is ignored
//
// These are never an error: other slash words (/lgtm, /assign @x, /retest,
// /hold, /kind bug, /cc, paths such as /usr/bin), a command word directly
// followed by "/" (a path), and every line inside a fenced code block
// (``` or ~~~, up to the closing fence or the end of the comment), indented
// by four columns or more, quoted (starting with ">", and the lines after a
// quoted paragraph that continue it without ">" — CommonMark's lazy
// continuation — up to a blank line or a line starting another block: a
// fence, a thematic break, an ATX heading, a list item), or inside an HTML
// comment (<!-- … -->, also across lines). Quoting someone's command in a
// reply does not apply it again.
//
// # Problems
//
// A malformed command (a bad or missing justification, a justification on
// a command that takes none, a known command word followed directly by
// other characters, a bad branches= value, a missing action statement, a
// text over 16 KiB, and in the command's lines invalid UTF-8, control
// characters other than tab, or Unicode bidirectional overrides, which
// make a text read differently from what is stored) yields a [Problem]
// saying what is wrong and showing the right form, and no [Command]; the
// other commands of the comment are still returned. Outside commands such
// bytes are ignored like the rest of the prose. A comment longer than 65536 bytes (GitHub's limit) is
// rejected as a whole with a single Problem. Windows (CR LF) and old Mac
// (CR) line endings are read as "\n", and a leading byte-order mark is
// dropped, before anything else.
package chatops

import (
	"fmt"
	"strings"

	"github.com/openvex/go-vex/pkg/vex"
)

// Limits on what is read. Comments are written by people; the limits keep
// a hostile one from costing more than a normal one.
const (
	// MaxCommentSize bounds a comment, in bytes (GitHub's limit on an
	// issue comment is 65536 characters).
	MaxCommentSize = 65536
	// MaxTextSize bounds the text of one command, in bytes.
	MaxTextSize = 16 << 10
	// MaxBranches bounds the entries of one branches= list.
	MaxBranches = 32
	// MaxBranchSize bounds one branch name or pattern, in bytes (git's
	// limit on a file name, which a ref is stored as).
	MaxBranchSize = 255
)

// Verb is what a command decides.
type Verb string

// The commands. A Verb's value is its canonical command word.
const (
	NotAffected        Verb = "not_affected"
	Affected           Verb = "affected"
	Fixed              Verb = "fixed"
	UnderInvestigation Verb = "under_investigation"
	Withdraw           Verb = "withdraw"
)

// Verbs lists every command, in the order they are documented.
func Verbs() []Verb {
	return []Verb{NotAffected, Affected, Fixed, UnderInvestigation, Withdraw}
}

// Valid reports whether v is one of the commands.
func (v Verb) Valid() bool {
	switch v {
	case NotAffected, Affected, Fixed, UnderInvestigation, Withdraw:
		return true
	}
	return false
}

// Command is one slash command read from a comment.
type Command struct {
	Verb Verb
	// Justification is set for NotAffected only, always to a valid value.
	Justification vex.Justification
	// Branches lists the branch names and patterns of branches=; nil means
	// every branch of the triage.
	Branches []string
	// Text is the impact statement (NotAffected), the action statement
	// (Affected, never empty) or a note (the others); "" when none.
	Text string
	// Line is the 1-based line of the command in the comment.
	Line int
	// Raw is the command's lines as written, from the command word to the
	// last line of its text, with line endings normalised to "\n".
	Raw string
}

// String returns the command's canonical one-line form, without its text:
// "/not_affected:vulnerable_code_not_in_execute_path branches=release-1.33".
func (c Command) String() string {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(string(c.Verb))
	if c.Verb == NotAffected {
		b.WriteString(":")
		b.WriteString(string(c.Justification))
	}
	if len(c.Branches) > 0 {
		b.WriteString(" branches=")
		b.WriteString(strings.Join(c.Branches, ","))
	}
	return b.String()
}

// Comment returns the command with its text as a comment that Parse reads
// back as the same command: the canonical form, then the text on the next
// line, or on the same line when the text's first line starts with "/"
// (which on a line of its own would start another command).
func (c Command) Comment() string {
	if c.Text == "" {
		return c.String()
	}
	if strings.HasPrefix(c.Text, "/") {
		return c.String() + " " + c.Text
	}
	return c.String() + "\n" + c.Text
}

// Problem is a malformed command, or a comment that cannot be read at all.
type Problem struct {
	// Line is the 1-based line of the problem; 0 for the whole comment.
	Line int
	// Written is the offending line, with invalid UTF-8 and control
	// characters shown escaped, shortened when very long.
	Written string
	// Reason says what is wrong.
	Reason string
	// Usage is the right form, as [Usage] gives it; "" when no form helps.
	Usage string
}

// Error returns the problem on one line.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	} else {
		b.WriteString("comment: ")
	}
	if p.Written != "" {
		fmt.Fprintf(&b, "%s: ", p.Written)
	}
	b.WriteString(p.Reason)
	if p.Usage != "" {
		fmt.Fprintf(&b, " (usage: %s)", p.Usage)
	}
	return b.String()
}

// justification is one OpenVEX justification with what it means, in
// documentation order.
type justification struct {
	value   vex.Justification
	meaning string
}

var justifications = []justification{
	{vex.ComponentNotPresent, "the vulnerable component is not in the product"},
	{vex.VulnerableCodeNotPresent, "the component is, the vulnerable code is not"},
	{vex.VulnerableCodeNotInExecutePath, "the vulnerable code is there but never runs"},
	{vex.VulnerableCodeCannotBeControlledByAdversary, "it runs, but an attacker cannot reach it with their input"},
	{vex.InlineMitigationsAlreadyExist, "built-in protections prevent exploitation"},
}

func justificationList() string {
	names := make([]string, len(justifications))
	for i, j := range justifications {
		names[i] = string(j.value)
	}
	return strings.Join(names, ", ")
}

// usageSeparator separates a command's form from its explanation in Usage;
// Reply splits on it to show the form as code.
const usageSeparator = " — "

// form is a command's syntax and what it means.
type form struct {
	syntax, meaning string
}

// forms gives each command's form. The meanings hold no angle brackets,
// which Markdown would read as HTML.
var forms = map[Verb]form{
	NotAffected: {"/not_affected:<justification> [branches=A,B] [impact statement]",
		"the vulnerability cannot be exploited on those branches, for the reason the justification names"},
	Affected: {"/affected [branches=A,B] <action statement>",
		"the vulnerability can be exploited on those branches; the action statement, required, says what users should do"},
	Fixed: {"/fixed [branches=A,B] [note]",
		"those branches no longer contain the vulnerability"},
	UnderInvestigation: {"/under_investigation [branches=A,B] [note]",
		"it is not yet known whether those branches are affected"},
	Withdraw: {"/withdraw [branches=A,B] [reason]",
		"retract the latest maintainer decision on those branches (on any branch without branches=)"},
}

// Usage returns the right form of a command with a one-line explanation,
// or "" for an unknown verb.
func Usage(v Verb) string {
	f, ok := forms[v]
	if !ok {
		return ""
	}
	u := f.syntax + usageSeparator + f.meaning
	if v == NotAffected {
		u += "; the justification is one of " + justificationList()
	}
	return u
}

// Help describes the whole language. It is Markdown that reads well as
// plain text, and safe to post as a reply: every command in it is indented
// as code, so Parse reads nothing in it.
func Help() string {
	var b strings.Builder
	b.WriteString("Answer a vulnerability triage with one of these commands, each at the start of a line:\n\n")
	for _, v := range Verbs() {
		fmt.Fprintf(&b, "    %s\n", forms[v].syntax)
	}
	b.WriteString("\nWhat they mean:\n\n")
	for _, v := range Verbs() {
		fmt.Fprintf(&b, "- `/%s`: %s.\n", v, forms[v].meaning)
	}
	b.WriteString("\nJustifications for `/not_affected`:\n\n")
	for _, j := range justifications {
		fmt.Fprintf(&b, "    %-50s %s\n", j.value, j.meaning)
	}
	b.WriteString(`
- The text is the rest of the command's line and the lines after it, up to the next line that starts with "/" or the end of the comment, kept as written (paragraphs, lists and code included). It is the impact statement of ` + "`/not_affected`" + `, the action statement of ` + "`/affected`" + ` and a note for the others; at most 16 KiB.
- ` + "`branches=A,B`" + ` (or ` + "`branch=`" + `), right after the command word, limits a command to those branches; names or patterns like ` + "`release-1.*`" + `, separated by commas without spaces, at most 32. Without it, a command is about every branch of the triage.
- Command words are case-insensitive and may be written with hyphens (` + "`/not-affected`, `/under-investigation`" + `), as may justifications.
- Several commands may share a comment. Other bots' commands (` + "`/lgtm`, `/hold`" + `) are left alone, and commands inside code blocks, quotes (lines starting with ` + "`>`" + `) or HTML comments are not applied.
`)
	return b.String()
}
