package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a project file.
type Error struct {
	// File is the file's name as given to Parse or Load.
	File string
	// Line is the 1-based line the problem is on; 0 when it concerns the
	// file as a whole.
	Line int
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes every Error an ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// maxErrors bounds how many problems are reported for one file.
const maxErrors = 50

// decoder walks a project file's node tree, collecting problems.
type decoder struct {
	file string
	errs []error
	// notMapping holds the paths whose value was not a mapping, so that
	// their keys are not reported missing as well.
	notMapping map[string]bool
	seen       map[Error]bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, notMapping: map[string]bool{}, seen: map[Error]bool{}}
}

func (d *decoder) errorf(line int, format string, args ...any) {
	e := &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)}
	// The same problem is found again where an alias repeats a node.
	if d.seen[*e] {
		return
	}
	d.seen[*e] = true
	switch {
	case len(d.errs) < maxErrors:
		d.errs = append(d.errs, e)
	case len(d.errs) == maxErrors:
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf("more than %d problems; stopping here", maxErrors)})
	}
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// document parses data as a single YAML document and returns its top node,
// or nil after reporting why there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(1, "the file is empty: it needs at least version, project and branches (run `vexloom init` for a starter file)")
		} else {
			d.syntaxError(data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(max(next.Line, 1), "a second YAML document starts here; %s holds exactly one", FileName)
		return nil
	case !errors.Is(err, io.EOF):
		d.syntaxError(data, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.errorf(1, "the file is empty: it needs at least version, project and branches (run `vexloom init` for a starter file)")
		return nil
	}
	return doc.Content[0]
}

// syntaxError reports a YAML syntax error with the line yaml names (the
// first line when it names none, which is what it means by that).
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		// yaml numbers the lines of its parser's errors (not its
		// scanner's) from 0.
		if isParserProblem(msg) {
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.HasPrefix(msg, "unknown anchor '") {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			line = lineOf(data, i)
		}
	}
	if line <= 0 {
		line = 1
	}
	// A tab in a line's indentation is the most common cause of a syntax
	// error in a hand-edited file, and yaml's message does not say so.
	if tab := tabIndentedLine(data, line); tab > 0 {
		d.errorf(tab, "a tab in the indentation: YAML indents with spaces only (%s)", msg)
		return
	}
	d.errorf(line, "invalid YAML: %s", msg)
}

// isParserProblem says whether msg is one of the problems yaml's parser (as
// opposed to its scanner) reports.
func isParserProblem(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected <") ||
		strings.HasPrefix(msg, "did not find expected key") ||
		strings.HasPrefix(msg, "did not find expected node content") ||
		strings.HasPrefix(msg, "did not find expected '-' indicator") ||
		strings.HasPrefix(msg, "did not find expected ','") ||
		strings.HasPrefix(msg, "found duplicate %") ||
		strings.HasPrefix(msg, "found incompatible YAML document") ||
		strings.HasPrefix(msg, "found undefined tag handle")
}

// tabIndentedLine returns the line next to line (1-based) whose indentation
// holds a tab, or 0.
func tabIndentedLine(data []byte, line int) int {
	lines := splitLines(data)
	for _, n := range []int{line, line + 1, line - 1} {
		if n < 1 || n > len(lines) {
			continue
		}
		l := lines[n-1]
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return n
		}
	}
	return 0
}

// splitLines splits data into lines the way YAML counts them: at \n, \r\n,
// \r, and the Unicode line breaks NEL, LS and PS.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i := 0; i < len(data); {
		n := lineBreak(data[i:])
		if n == 0 {
			i++
			continue
		}
		lines = append(lines, data[start:i])
		i += n
		start = i
	}
	return append(lines, data[start:])
}

// lineBreak returns the length of the line break data starts with, or 0.
func lineBreak(data []byte) int {
	switch {
	case bytes.HasPrefix(data, []byte("\r\n")):
		return 2
	case data[0] == '\n', data[0] == '\r':
		return 1
	case bytes.HasPrefix(data, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(data, []byte("\u2028")), bytes.HasPrefix(data, []byte("\u2029")):
		return 3
	}
	return 0
}

// lineOf returns the 1-based line of the byte at offset i.
func lineOf(data []byte, i int) int {
	return len(splitLines(data[:i]))
}

// resolve follows an alias to the node it names. An alias never names
// another alias.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch t := n.ShortTag(); t {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "nothing"
		case "!!timestamp":
			return "a timestamp"
		case "!!binary":
			return "binary data"
		default:
			return "a value tagged " + quote(t)
		}
	}
	return "something else"
}

// field is a key of a mapping and how to decode its value.
type field struct {
	key    string
	decode func(key, value *yaml.Node)
}

// mapping decodes n as a mapping with the given keys; where is its dotted
// path ("" for the top). It reports what is not a mapping, duplicate keys
// and unknown keys, and returns the line of each key present. A null node is
// an empty mapping.
func (d *decoder) mapping(n *yaml.Node, where string, fields []field) map[string]int {
	seen := map[string]int{}
	if isNull(n) {
		return seen
	}
	m := resolve(n)
	if m.Kind != yaml.MappingNode {
		d.notMapping[where] = true
		if where == "" {
			d.errorf(n.Line, "expected a mapping of keys (version, project, branches, ...), got %s", describe(n))
		} else {
			d.errorf(n.Line, "%s: expected a mapping, got %s", where, describe(n))
		}
		return seen
	}
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.key
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		rk := resolve(k)
		if rk.Kind != yaml.ScalarNode {
			d.errorf(k.Line, "%skeys must be strings, got %s", prefix(where), describe(k))
			continue
		}
		if rk.ShortTag() == "!!merge" {
			d.errorf(k.Line, "%smerge keys (<<) are not supported: write the keys out", prefix(where))
			continue
		}
		key := rk.Value
		if first, dup := seen[key]; dup {
			d.errorf(k.Line, "%sduplicate key %s (first at line %d)", prefix(where), quote(key), first)
			continue
		}
		seen[key] = k.Line
		i := indexOf(known, key)
		if i < 0 {
			d.unknownKey(k, where, key, known)
			delete(seen, key)
			continue
		}
		fields[i].decode(k, v)
	}
	return seen
}

func (d *decoder) unknownKey(k *yaml.Node, where, key string, known []string) {
	in := ""
	if where != "" {
		in = " in " + where
	}
	hint := ""
	if s := suggest(key, known); s != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
	} else if s := suggestPath(key, where); s != "" {
		hint = fmt.Sprintf(" (did you mean %s? it belongs under %s)", quote(s), parentOf(s))
	} else {
		hint = " (known keys: " + strings.Join(known, ", ") + ")"
	}
	d.errorf(k.Line, "unknown key %s%s%s", quote(key), in, hint)
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// scalar decodes a string value; numbers are taken as written (so that
// go_version: 1.20 is "1.20"), null is the empty string. It reports control
// characters, which no value may hold.
func (d *decoder) scalar(n *yaml.Node, where string) (string, bool) {
	r := resolve(n)
	if r.Kind != yaml.ScalarNode {
		d.errorf(n.Line, "%s: expected a string, got %s", where, describe(n))
		return "", false
	}
	switch r.ShortTag() {
	case "!!null":
		return "", true
	case "!!str", "!!int", "!!float":
	default:
		d.errorf(n.Line, "%s: expected a string, got %s (quote it)", where, describe(n))
		return "", false
	}
	if i := strings.IndexFunc(r.Value, unicode.IsControl); i >= 0 {
		d.errorf(n.Line, "%s: contains the control character %U", where, []rune(r.Value[i:])[0])
		return "", false
	}
	return r.Value, true
}

// str decodes a string value with check (which may be nil) into dst.
func (d *decoder) str(n *yaml.Node, where string, dst *string, check func(string) error) {
	s, ok := d.scalar(n, where)
	if !ok {
		return
	}
	if s != "" && check != nil {
		if err := check(s); err != nil {
			d.errorf(n.Line, "%s: %v", where, err)
			return
		}
	}
	*dst = s
}

// list decodes a list of non-empty strings, each checked by check (which may
// be nil), reporting duplicates as same says (nil: duplicates allowed).
// Null is an empty list.
func (d *decoder) list(n *yaml.Node, where string, dst *[]string, check func(string) error, same func(string) string) {
	if isNull(n) {
		return
	}
	s := resolve(n)
	if s.Kind != yaml.SequenceNode {
		hint := ""
		if s.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(" (write a list: [%s] or one \"- item\" per line)", s.Value)
			if len(s.Value) > 40 {
				hint = " (write a list: one \"- item\" per line)"
			}
		}
		d.errorf(n.Line, "%s: expected a list, got %s%s", where, describe(n), hint)
		return
	}
	var out []string
	firsts := map[string]int{}
	for _, item := range s.Content {
		v, ok := d.scalar(item, where)
		if !ok {
			continue
		}
		if v == "" {
			d.errorf(item.Line, "%s: an empty item", where)
			continue
		}
		if check != nil {
			if err := check(v); err != nil {
				d.errorf(item.Line, "%s: %v", where, err)
				continue
			}
		}
		if same != nil {
			k := same(v)
			if first, dup := firsts[k]; dup {
				d.errorf(item.Line, "%s: %s is listed twice (first at line %d)", where, quote(v), first)
				continue
			}
			firsts[k] = item.Line
		}
		out = append(out, v)
	}
	*dst = out
}

// integer decodes a non-negative integer.
func (d *decoder) integer(n *yaml.Node, where string, dst *int64) {
	r := resolve(n)
	if isNull(n) {
		return
	}
	if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!int" {
		d.errorf(n.Line, "%s: expected an integer, got %s", where, describe(n))
		return
	}
	var v int64
	if err := r.Decode(&v); err != nil {
		d.errorf(n.Line, "%s: %s is out of range", where, quote(r.Value))
		return
	}
	if v < 0 {
		d.errorf(n.Line, "%s: must not be negative, got %d", where, v)
		return
	}
	*dst = v
}

// quote quotes s for a message, shortened when long.
func quote(s string) string {
	const maxLen = 80
	if utf8.RuneCountInString(s) > maxLen {
		s = string([]rune(s)[:maxLen]) + "..."
	}
	return strconv.Quote(s)
}
