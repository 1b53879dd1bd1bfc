package chatops

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openvex/go-vex/pkg/vex"
)

// The reading of Markdown here is hand-rolled on purpose: a Markdown
// library would build a whole document tree to answer the few questions
// Parse asks (is this line code, quoted, in an HTML comment, a command?),
// and would not follow the rule that a command's text runs to the next
// line starting with "/", which is a line rule, not a Markdown one. It
// follows CommonMark where it can (fences, indentation, line endings), and
// leans towards ignoring a line where Markdown is ambiguous: a command left
// unapplied is visible and easily repeated, one applied by mistake is not.

// Parse reads the vexloom commands in a comment, in order, and the
// problems of those that are malformed. Everything else in the comment is
// ignored; see the package documentation for the language.
func Parse(comment string) ([]Command, []Problem) {
	if len(comment) > MaxCommentSize {
		return nil, []Problem{{
			Reason: fmt.Sprintf("the comment is %d bytes long; vexloom reads comments of at most %d bytes: put the commands in a shorter comment", len(comment), MaxCommentSize),
		}}
	}
	comment = strings.TrimPrefix(comment, "\ufeff")
	comment = strings.ReplaceAll(comment, "\r\n", "\n")
	comment = strings.ReplaceAll(comment, "\r", "\n")
	lines := strings.Split(comment, "\n")

	// Find the slash lines: those a bot may read as a command.
	var slashes []slashLine
	var st mdState
	for i, s := range lines {
		if st.fence.n > 0 {
			if st.fence.closedBy(s) {
				st.fence = fence{}
			}
			continue
		}
		if st.comment {
			st.comment = scanHTMLComments(s, true)
			if strings.TrimSpace(s) == "" {
				st.lazy = false // a blank line ends the quote's paragraph
			}
			continue
		}
		if st.lazy {
			if lazyContinuation(s) {
				// The quote's paragraph goes on (CommonMark's lazy
				// continuation): the line is quoted too.
				st.comment = scanHTMLComments(s, false)
				continue
			}
			st.lazy = false
		}
		sl, ok := readSlashLine(s)
		if !ok {
			st.advance(s)
			continue
		}
		sl.index = i
		slashes = append(slashes, sl)
		if sl.known {
			// A command's text starts after its word, as if it
			// began a line.
			st.advance(sl.rest)
			st.lazy = false // the rest of a command's line is no block quote
		} else {
			st.comment = scanHTMLComments(s, false)
		}
	}

	var cmds []Command
	var problems []Problem
	for k, sl := range slashes {
		if !sl.known {
			continue
		}
		end := len(lines)
		if k+1 < len(slashes) {
			end = slashes[k+1].index
		}
		cmd, p := readCommand(sl, lines[sl.index:end])
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		cmds = append(cmds, cmd)
	}
	return cmds, problems
}

// mdState is what Parse knows of the Markdown structure at a line start.
type mdState struct {
	fence   fence
	comment bool // inside an HTML comment
	// lazy: the previous line is a paragraph in a block quote, which the
	// next line continues unless it is blank or starts another block.
	lazy bool
}

// advance updates the state with a line outside a fence and an HTML
// comment that is not a slash line.
func (st *mdState) advance(s string) {
	st.lazy = false
	if isQuote(s) {
		// A quoted block's fences and comments end with the quote,
		// and its lines are ignored anyway.
		st.lazy = quotesParagraph(s)
		return
	}
	if f, ok := openingFence(s); ok {
		st.fence = f
		return
	}
	st.comment = scanHTMLComments(s, false)
}

// indent returns the columns of a line's leading spaces and tabs (a tab
// advancing to the next multiple of four, as in CommonMark) and their
// length in bytes.
func indent(s string) (cols, n int) {
	for n < len(s) {
		switch s[n] {
		case ' ':
			cols++
		case '\t':
			cols += 4 - cols%4
		default:
			return cols, n
		}
		n++
	}
	return cols, n
}

func isQuote(s string) bool {
	_, n := indent(s)
	return n < len(s) && s[n] == '>'
}

// quotesParagraph reports whether a block-quote line holds paragraph
// text, which CommonMark lets the next lines continue lazily, without ">".
func quotesParagraph(s string) bool {
	for {
		cols, n := indent(s)
		if cols > 3 || n >= len(s) || s[n] != '>' {
			break
		}
		s = s[n+1:]
		if s != "" && (s[0] == ' ' || s[0] == '\t') {
			s = s[1:] // the optional space after ">"
		}
	}
	if strings.TrimSpace(s) == "" {
		return false
	}
	if cols, _ := indent(s); cols >= 4 {
		return false // indented code
	}
	_, isFence := openingFence(s)
	return !isFence && !startsBlock(s)
}

// lazyContinuation reports whether a line after a block quote's paragraph
// continues that paragraph (and so is quoted): it is not blank, not a
// quote line of its own, and starts no block that can interrupt a
// paragraph (a fence, a thematic break, an ATX heading, a list item).
// Indented lines continue it: indented code cannot interrupt a paragraph.
// A line starting with "<" is read as continuing it too: an HTML block
// would end the quote, but its lines are no commands either.
func lazyContinuation(s string) bool {
	if strings.TrimSpace(s) == "" || isQuote(s) {
		return false
	}
	if cols, _ := indent(s); cols >= 4 {
		return true
	}
	if _, ok := openingFence(s); ok {
		return false
	}
	return !startsBlock(s)
}

// startsBlock reports whether a line (at most three columns indented)
// starts a thematic break, an ATX heading or a list item.
func startsBlock(s string) bool {
	cols, n := indent(s)
	if cols > 3 {
		return false
	}
	s = s[n:]
	switch {
	case s == "":
		return false
	case s[0] == '#':
		h := len(s) - len(strings.TrimLeft(s, "#"))
		return h <= 6 && (h == len(s) || s[h] == ' ' || s[h] == '\t')
	}
	if thematicBreak(s) {
		return true
	}
	if strings.ContainsRune("-*+", rune(s[0])) {
		return len(s) > 1 && (s[1] == ' ' || s[1] == '\t') && strings.TrimSpace(s[2:]) != ""
	}
	// An ordered list item interrupts a paragraph only when it starts at 1.
	if rest, ok := strings.CutPrefix(s, "1"); ok && rest != "" && (rest[0] == '.' || rest[0] == ')') {
		rest = rest[1:]
		return rest != "" && (rest[0] == ' ' || rest[0] == '\t') && strings.TrimSpace(rest) != ""
	}
	return false
}

// thematicBreak reports whether s is three or more of the same "-", "*" or
// "_", with only spaces and tabs between them.
func thematicBreak(s string) bool {
	c := s[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	count := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case c:
			count++
		case ' ', '\t':
		default:
			return false
		}
	}
	return count >= 3
}

// fence is an open fenced code block: n backticks or tildes.
type fence struct {
	char byte
	n    int
}

// openingFence reports whether a line opens a fenced code block. Unlike
// CommonMark, any indentation and list markers before the fence are
// accepted, so that a fence inside a list item counts too.
func openingFence(s string) (fence, bool) {
	_, n := indent(s)
	s = stripListMarkers(s[n:])
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return fence{}, false
	}
	c := s[0]
	run := len(s) - len(strings.TrimLeft(s, string(c)))
	if run < 3 {
		return fence{}, false
	}
	if c == '`' && strings.Contains(s[run:], "`") {
		return fence{}, false // an info string cannot hold a backtick: this is inline code
	}
	return fence{char: c, n: run}, true
}

// stripListMarkers removes the markers of (nested) list items from the
// start of a line: "- ", "* ", "+ ", "1. ", "1) ".
func stripListMarkers(s string) string {
	for {
		rest := s
		switch {
		case rest != "" && strings.ContainsRune("-*+", rune(rest[0])):
			rest = rest[1:]
		default:
			d := 0
			for d < len(rest) && d < 9 && rest[d] >= '0' && rest[d] <= '9' {
				d++
			}
			if d == 0 || d >= len(rest) || (rest[d] != '.' && rest[d] != ')') {
				return s
			}
			rest = rest[d+1:]
		}
		_, n := indent(rest)
		if n == 0 {
			return s
		}
		s = rest[n:]
	}
}

// closedBy reports whether a line closes the fence: a run of at least as
// many of the same character, and nothing else but white space.
func (f fence) closedBy(s string) bool {
	_, n := indent(s)
	s = s[n:]
	run := len(s) - len(strings.TrimLeft(s, string(f.char)))
	return run >= f.n && strings.TrimLeft(s[run:], " \t") == ""
}

// scanHTMLComments returns whether a line ends inside an HTML comment,
// given whether it started in one. "<!--" inside a code span does not open
// a comment.
func scanHTMLComments(s string, in bool) bool {
	i := 0
	for i < len(s) {
		if in {
			j := strings.Index(s[i:], "-->")
			if j < 0 {
				return true
			}
			i += j + len("-->")
			in = false
			continue
		}
		j := strings.IndexAny(s[i:], "<`")
		if j < 0 {
			return false
		}
		i += j
		if s[i] == '`' {
			n := backtickRun(s[i:])
			if end := closingBackticks(s[i+n:], n); end >= 0 {
				i += n + end + n
			} else {
				i += n
			}
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			in = true
			i += len("<!--")
			continue
		}
		i++
	}
	return in
}

func backtickRun(s string) int {
	return len(s) - len(strings.TrimLeft(s, "`"))
}

// closingBackticks returns the offset in s of the first run of exactly n
// backticks, or -1.
func closingBackticks(s string, n int) int {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '`')
		if j < 0 {
			return -1
		}
		i += j
		run := backtickRun(s[i:])
		if run == n {
			return i
		}
		i += run
	}
	return -1
}

// slashLine is a line that starts with "/" outside code, quotes and HTML
// comments.
type slashLine struct {
	index int    // 0-based line index
	line  string // the whole line
	known bool   // a vexloom command word
	verb  Verb
	// junk is what directly follows a known command word when it is
	// neither white space, a colon nor the end of the line ("/fixed.").
	junk     string
	colon    bool   // the word is followed by ":"
	just     string // what follows the colon, up to white space
	branches string // the first word after the command, when it is branches= or branch=
	rest     string // the start of the text
}

// commandWords maps every accepted spelling's normal form to its verb.
var commandWords = map[string]Verb{
	"not_affected":        NotAffected,
	"affected":            Affected,
	"fixed":               Fixed,
	"under_investigation": UnderInvestigation,
	"withdraw":            Withdraw,
}

// normalWord folds case and hyphens, the differences allowed in command
// words and justifications.
func normalWord(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "-", "_")
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// readSlashLine reports whether s is a slash line and, when its word is a
// vexloom command, splits it.
func readSlashLine(s string) (slashLine, bool) {
	cols, n := indent(s)
	if cols > 3 || n >= len(s) || s[n] != '/' {
		return slashLine{}, false
	}
	sl := slashLine{line: s}
	p := n + 1
	w := p
	for w < len(s) && isWordByte(s[w]) {
		w++
	}
	verb, ok := commandWords[normalWord(s[p:w])]
	if !ok {
		return sl, true
	}
	after := s[w:]
	if after != "" {
		r, _ := utf8.DecodeRuneInString(after)
		switch {
		case r == '/':
			return sl, true // a path, such as /fixed/bin
		case r == ':':
			sl.colon = true
			after = after[1:]
			end := strings.IndexFunc(after, unicode.IsSpace)
			if end < 0 {
				end = len(after)
			}
			sl.just, after = after[:end], after[end:]
		case !unicode.IsSpace(r):
			end := strings.IndexFunc(after, unicode.IsSpace)
			if end < 0 {
				end = len(after)
			}
			sl.junk = after[:end]
		}
	}
	sl.known, sl.verb = true, verb
	after = strings.TrimLeftFunc(after, unicode.IsSpace)
	first := firstWord(after)
	if _, ok := branchesValue(first); ok {
		sl.branches = first
		after = strings.TrimLeftFunc(after[len(first):], unicode.IsSpace)
	}
	sl.rest = after
	return sl, true
}

// firstWord returns s up to its first white space.
func firstWord(s string) string {
	if end := strings.IndexFunc(s, unicode.IsSpace); end >= 0 {
		return s[:end]
	}
	return s
}

// branchesValue returns the value of a branches= or branch= word.
func branchesValue(word string) (string, bool) {
	for _, key := range []string{"branches=", "branch="} {
		if len(word) >= len(key) && strings.EqualFold(word[:len(key)], key) {
			return word[len(key):], true
		}
	}
	return "", false
}

// readCommand reads the command of a known slash line; lines runs from
// its line to the next slash line.
func readCommand(sl slashLine, lines []string) (Command, *Problem) {
	line := sl.index + 1
	problem := func(at int, written, format string, args ...any) *Problem {
		return &Problem{Line: at, Written: shown(written), Reason: fmt.Sprintf(format, args...), Usage: Usage(sl.verb)}
	}

	// The text: the rest of the command's line and the lines after it,
	// without the blank lines before it and the white space after it.
	last := 0
	for i := len(lines) - 1; i > 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			last = i
			break
		}
	}
	lines = lines[:last+1]
	parts := append([]string{sl.rest}, lines[1:]...)
	for len(parts) > 0 && strings.TrimSpace(parts[0]) == "" {
		parts = parts[1:]
	}
	text := strings.TrimRightFunc(strings.Join(parts, "\n"), unicode.IsSpace)

	for i, s := range lines {
		if reason := badCharacters(s); reason != "" {
			return Command{}, problem(line+i, s, "%s", reason)
		}
	}

	cmd := Command{Verb: sl.verb, Text: text, Line: line, Raw: strings.Join(lines, "\n")}
	word := "/" + string(sl.verb)
	switch {
	case sl.junk != "":
		return Command{}, problem(line, sl.line, "%s is directly followed by %s; put a space between the command and its text", code(word), code(sl.junk))
	case sl.verb != NotAffected && sl.colon:
		return Command{}, problem(line, sl.line, "%s takes no justification; only %s does", code(word), code("/not_affected"))
	case sl.verb == NotAffected && !sl.colon:
		if first := firstWord(sl.rest); vex.Justification(normalWord(first)).Valid() {
			return Command{}, problem(line, sl.line, "the justification goes right after a colon: %s", code(word+":"+normalWord(first)))
		}
		return Command{}, problem(line, sl.line, "%s needs a justification after a colon", code(word))
	case sl.verb == NotAffected:
		j := vex.Justification(normalWord(sl.just))
		if sl.just == "" {
			return Command{}, problem(line, sl.line, "there is no justification after the colon (no space goes there)")
		}
		if !j.Valid() {
			reason := fmt.Sprintf("%s is not an OpenVEX justification", code(sl.just))
			if s := suggestJustification(sl.just); s != "" {
				reason += fmt.Sprintf("; did you mean %s?", code(string(s)))
			}
			return Command{}, problem(line, sl.line, "%s", reason)
		}
		cmd.Justification = j
	}
	if sl.branches == "" {
		first := firstWord(sl.rest)
		if k, _, ok := strings.Cut(first, ":"); ok && (strings.EqualFold(k, "branches") || strings.EqualFold(k, "branch")) && len(first) > len(k)+1 {
			return Command{}, problem(line, sl.line, "branches are given with %s, not a colon", code("branches="))
		}
	} else {
		value, _ := branchesValue(sl.branches)
		branches, reason := readBranches(value)
		if reason != "" {
			return Command{}, problem(line, sl.line, "%s", reason)
		}
		cmd.Branches = branches
	}
	if len(text) > MaxTextSize {
		return Command{}, problem(line, sl.line, "the text is %d bytes long; it may be at most %d bytes", len(text), MaxTextSize)
	}
	if sl.verb == Affected && text == "" {
		return Command{}, problem(line, sl.line, "%s needs an action statement: what users should do, after the command or on the lines below it", code(word))
	}
	return cmd, nil
}

// badCharacters explains what makes a line unfit for a statement, or
// returns "".
func badCharacters(s string) string {
	if !utf8.ValidString(s) {
		return "the line is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\t':
		case unicode.IsControl(r):
			return fmt.Sprintf("the line holds the control character %U; only tabs and line breaks are allowed", r)
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("the line holds the bidirectional formatting character %U, which makes text read differently from what is stored", r)
		}
	}
	return ""
}

// maxShown bounds Problem.Written.
const maxShown = 200

// shown makes a line fit to show: invalid UTF-8 and control characters
// escaped, shortened to maxShown bytes.
func shown(s string) string {
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		if b.Len() >= maxShown {
			b.WriteString("…")
			break
		}
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// suggestJustification returns the justification s is most likely a
// misspelling or abbreviation of, or "".
func suggestJustification(s string) vex.Justification {
	if len(s) > 100 {
		return ""
	}
	n := normalWord(s)
	var best vex.Justification
	bestDist := -1
	for _, j := range justifications {
		d := editDistance(n, string(j.value))
		if len(n) >= 6 && strings.Contains(string(j.value), n) {
			d = min(d, 3)
		}
		if d <= 3 && (bestDist < 0 || d < bestDist) {
			best, bestDist = j.value, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
