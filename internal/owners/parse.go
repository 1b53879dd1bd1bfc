package owners

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseFile parses an OWNERS file. Unknown keys are ignored, as Prow does,
// so that files written for newer tools still load; a known key of the
// wrong type, a name that is neither a login nor an alias name, an invalid
// filter expression or approvers set beside filters is an error naming the
// line. Every error wraps ErrInvalid, or ErrTooLarge for a file over
// MaxFileSize.
func ParseFile(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, MaxFileSize)
	}
	d := &decoder{budget: maxNodes, topKeys: "approvers, reviewers, options, filters, ..."}
	f := &File{}
	top := d.document(data)
	if top == nil {
		if err := d.err(); err != nil {
			return nil, err
		}
		return f, nil
	}
	// simple records the line of each key of a simple configuration.
	simple := map[string]int{}
	people := func(dst *[]string) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) {
			if *dst = d.names(v, k.Value); len(*dst) > 0 {
				simple[k.Value] = k.Line
			}
		}
	}
	var filtersLine int
	d.mapping(top, "", map[string]func(k, v *yaml.Node){
		"approvers":          people(&f.Approvers),
		"reviewers":          people(&f.Reviewers),
		"required_reviewers": people(&f.RequiredReviewers),
		"labels": func(k, v *yaml.Node) {
			if f.Labels = d.labels(v, "labels"); len(f.Labels) > 0 {
				simple["labels"] = k.Line
			}
		},
		"emeritus_approvers": func(_, v *yaml.Node) { f.EmeritusApprovers = d.names(v, "emeritus_approvers") },
		"emeritus_reviewers": func(_, v *yaml.Node) { f.EmeritusReviewers = d.names(v, "emeritus_reviewers") },
		"options": func(_, v *yaml.Node) {
			d.mapping(v, "options", map[string]func(k, v *yaml.Node){
				"no_parent_owners": func(_, v *yaml.Node) { f.NoParentOwners = d.boolean(v, "options.no_parent_owners") },
			})
		},
		"filters": func(k, v *yaml.Node) { f.Filters = d.filters(v); filtersLine = k.Line },
	})
	// Prow reads a file either as a simple configuration or as filters,
	// never both (the filters only when the simple configuration is
	// empty), and the OWNERS documentation forbids mixing them: which people
	// count would depend on the tool, so it is an error.
	if filtersLine > 0 {
		for _, key := range []string{"approvers", "reviewers", "required_reviewers", "labels"} {
			if line, ok := simple[key]; ok {
				d.errorf(line, "%s is set beside filters (line %d); the OWNERS format allows only one of them: move it under filters %q", key, filtersLine, AllFiles)
			}
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseAliases parses an OWNERS_ALIASES file: a mapping "aliases" from
// alias names to lists of logins. Alias names are lowercased; the same name
// twice (in any case) is an error. Unknown top-level keys are ignored.
func ParseAliases(data []byte) (Aliases, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, MaxFileSize)
	}
	d := &decoder{budget: maxNodes, topKeys: "aliases"}
	a := Aliases{}
	top := d.document(data)
	if top == nil {
		if err := d.err(); err != nil {
			return nil, err
		}
		return a, nil
	}
	d.mapping(top, "", map[string]func(k, v *yaml.Node){
		"aliases": func(_, v *yaml.Node) {
			if isNull(v) {
				return
			}
			m := d.resolve(v)
			if m == nil {
				return
			}
			if m.Kind != yaml.MappingNode {
				d.errorf(v.Line, "aliases: want a mapping of alias names to lists of logins, got %s", describe(m))
				return
			}
			lines := map[string]int{}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, val := d.resolve(m.Content[i]), m.Content[i+1]
				if k == nil {
					return
				}
				if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
					d.errorf(m.Content[i].Line, "aliases: want an alias name as key, got %s", describe(k))
					continue
				}
				name, ok := normalizeEntry(k.Value)
				if !ok {
					d.errorf(k.Line, "aliases: %s is not an alias name (letters, digits, '-', '_' and '.')", quote(k.Value))
					continue
				}
				if first, dup := lines[name]; dup {
					d.errorf(k.Line, "aliases: %s is defined twice (first at line %d; alias names are case-insensitive)", quote(k.Value), first)
					continue
				}
				lines[name] = k.Line
				a[name] = d.names(val, "aliases."+name)
			}
		},
	})
	if err := d.err(); err != nil {
		return nil, err
	}
	return a, nil
}

// maxErrors bounds how many problems are reported for one file.
const maxErrors = 20

// decoder walks a file's YAML node tree, checking types and collecting
// problems. yaml's own decoding into structs would do the type checks, but
// it gives no line for a bad list entry and no hook to bound what anchors
// expand to, so the tree is walked by hand.
type decoder struct {
	errs []error
	// budget is how many more nodes may be visited.
	budget int
	// topKeys names the top-level keys, for the message about a file that
	// is not a mapping.
	topKeys string
}

func (d *decoder) errorf(line int, format string, args ...any) {
	switch {
	case len(d.errs) < maxErrors:
		d.errs = append(d.errs, &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)})
	case len(d.errs) == maxErrors:
		d.errs = append(d.errs, &SyntaxError{Line: line, Msg: fmt.Sprintf("more than %d problems; stopping here", maxErrors)})
	}
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// resolve follows an alias to its anchor and charges one node to the
// budget. It returns nil, after reporting it once, when the budget is
// spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	if d.budget <= 0 {
		return nil
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n.Line, "the file expands to more than %d YAML nodes (through anchors and aliases); OWNERS files are lists of names", maxNodes)
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// document parses data as one YAML document and returns its top node: nil
// for an empty file or after reporting why there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(max(next.Line, 1), "a second YAML document starts here; the file holds exactly one")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	top := doc.Content[0]
	if isNull(top) {
		return nil
	}
	return top
}

func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.errorf(line, "not valid YAML: %s", msg)
}

// mapping decodes n as a mapping, calling fields[key] for each known key.
// Unknown keys are ignored; duplicate and merge keys are errors. A null
// node is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, where string, fields map[string]func(k, v *yaml.Node)) {
	if isNull(n) {
		return
	}
	m := d.resolve(n)
	if m == nil {
		return
	}
	if m.Kind != yaml.MappingNode {
		if where == "" {
			d.errorf(n.Line, "want a mapping of keys (%s), got %s", d.topKeys, describe(m))
		} else {
			d.errorf(n.Line, "%swant a mapping, got %s", prefix(where), describe(m))
		}
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := d.resolve(m.Content[i]), m.Content[i+1]
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(m.Content[i].Line, "%skeys must be strings, got %s", prefix(where), describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errorf(k.Line, "%smerge keys (<<) are not supported: write the keys out", prefix(where))
			continue
		}
		decode, known := fields[k.Value]
		if !known {
			// Prow decodes through encoding/json, which matches keys in any
			// case: "Approvers" counts there, so it must not be ignored here.
			for key := range fields {
				if strings.EqualFold(key, k.Value) {
					d.errorf(k.Line, "%s%s is written in lowercase: %s", prefix(where), quote(k.Value), key)
				}
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s%s is set twice (first at line %d)", prefix(where), k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		decode(k, v)
	}
}

// names decodes a list of logins and alias names: normalized, each once.
func (d *decoder) names(n *yaml.Node, where string) []string {
	return d.list(n, where, "a GitHub login or alias name", func(s string) (string, string) {
		name, ok := normalizeEntry(s)
		if !ok {
			return "", "is not a GitHub login or alias name"
		}
		return name, ""
	})
}

// labels decodes a list of GitHub labels.
func (d *decoder) labels(n *yaml.Node, where string) []string {
	return d.list(n, where, "a label", func(s string) (string, string) {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return "", "is empty"
		case len(s) > 100:
			return "", "is longer than GitHub's 100 characters"
		case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
			return "", "holds a control character"
		}
		return s, ""
	})
}

// list decodes a list of scalars, each checked by check (which returns the
// value to keep, or why it is wrong). Duplicates are dropped. A null node
// is an empty list.
func (d *decoder) list(n *yaml.Node, where, what string, check func(string) (string, string)) []string {
	if isNull(n) {
		return nil
	}
	s := d.resolve(n)
	if s == nil {
		return nil
	}
	if s.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: want a list (one %s per line, each after \"- \"), got %s", where, what, describe(s))
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range s.Content {
		v := d.resolve(item)
		if v == nil {
			return out
		}
		if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!str" && v.ShortTag() != "!!int") {
			d.errorf(item.Line, "%s: want %s, got %s", where, what, describe(v))
			continue
		}
		val, problem := check(v.Value)
		if problem != "" {
			d.errorf(item.Line, "%s: %s %s", where, quote(v.Value), problem)
			continue
		}
		if !seen[val] {
			seen[val] = true
			out = append(out, val)
		}
	}
	return out
}

func (d *decoder) boolean(n *yaml.Node, where string) bool {
	v := d.resolve(n)
	if v == nil {
		return false
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		d.errorf(n.Line, "%s: want true or false, got %s", where, describe(v))
		return false
	}
	b, err := strconv.ParseBool(v.Value)
	if err != nil {
		// yaml tags True, TRUE and the like as booleans too.
		return strings.EqualFold(v.Value, "true")
	}
	return b
}

// filters decodes the filters mapping: Go regular expressions to simple
// configurations.
func (d *decoder) filters(n *yaml.Node) map[string]Filter {
	if isNull(n) {
		return nil
	}
	m := d.resolve(n)
	if m == nil {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		d.errorf(n.Line, "filters: want a mapping of regular expressions to approvers and reviewers, got %s", describe(m))
		return nil
	}
	out := map[string]Filter{}
	lines := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := d.resolve(m.Content[i]), m.Content[i+1]
		if k == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(m.Content[i].Line, "filters: want a regular expression as key, got %s", describe(k))
			continue
		}
		src := k.Value
		if len(src) > maxFilterLen {
			d.errorf(k.Line, "filters: the expression is longer than %d characters", maxFilterLen)
			continue
		}
		if _, err := regexp.Compile(src); err != nil {
			d.errorf(k.Line, "filters: %s is not a Go regular expression: %v", quote(src), err)
			continue
		}
		if first, dup := lines[src]; dup {
			d.errorf(k.Line, "filters: %s is set twice (first at line %d)", quote(src), first)
			continue
		}
		lines[src] = k.Line
		where := "filters." + quote(src)
		var f Filter
		d.mapping(v, where, map[string]func(k, v *yaml.Node){
			"approvers":          func(_, v *yaml.Node) { f.Approvers = d.names(v, where+".approvers") },
			"reviewers":          func(_, v *yaml.Node) { f.Reviewers = d.names(v, where+".reviewers") },
			"required_reviewers": func(_, v *yaml.Node) { f.RequiredReviewers = d.names(v, where+".required_reviewers") },
			"labels":             func(_, v *yaml.Node) { f.Labels = d.labels(v, where+".labels") },
		})
		out[src] = f
	}
	return out
}

func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
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

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// quote quotes s for a message, shortened so that hostile input cannot
// flood it, and in ASCII so that a look-alike letter (the Kelvin sign for
// "K") shows as what it is.
func quote(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return strconv.QuoteToASCII(s)
}
