package advisory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
)

// Limits on the Kubernetes CVE feed. The real feed is well under 1 MiB with
// a few hundred items.
const (
	MaxFeedSize     = 16 << 20
	MaxFeedItems    = 10000
	maxItemText     = 256 << 10
	maxSummary      = 4 << 10
	maxMitigation   = 600
	maxIDsPerItem   = 16
	jsonFeedVersion = "https://jsonfeed.org/version/1"
)

// Feed is a parsed Kubernetes official CVE feed: a JSON Feed 1.1 document
// (https://www.jsonfeed.org/version/1.1/) whose items are CVE announcements,
// with Kubernetes' _kubernetes_io extension.
type Feed struct {
	Version     string
	Title       string
	FeedURL     string
	HomePageURL string
	// RefreshedAt and UpdatedAt are the feed-level _kubernetes_io
	// timestamps: when the feed was regenerated, and when its content last
	// changed.
	RefreshedAt time.Time
	UpdatedAt   time.Time
	Items       []FeedItem
	// Problems are items that could not be read; the others still count.
	Problems []Problem
}

// FeedItem is one announcement of the feed.
type FeedItem struct {
	// IDs are the CVEs the item announces (one item may name several:
	// "CVE-2023-2727, CVE-2023-2728").
	IDs           []string
	URL           string
	ExternalURL   string
	Title         string
	Summary       string
	ContentText   string
	DatePublished time.Time
	DateModified  time.Time
	// The _kubernetes_io extension.
	IssueNumber    int64
	GoogleGroupURL string
}

// Problem is an entry that was not used, and why.
type Problem struct {
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

type rawFeed struct {
	Version     string            `json:"version"`
	Title       string            `json:"title"`
	HomePageURL string            `json:"home_page_url"`
	FeedURL     string            `json:"feed_url"`
	Items       []json.RawMessage `json:"items"`
	Kubernetes  *struct {
		FeedRefreshedAt string `json:"feed_refreshed_at"`
		UpdatedAt       string `json:"updated_at"`
	} `json:"_kubernetes_io"`
}

type rawItem struct {
	ID            json.RawMessage `json:"id"`
	URL           string          `json:"url"`
	ExternalURL   string          `json:"external_url"`
	Title         string          `json:"title"`
	Summary       string          `json:"summary"`
	ContentText   string          `json:"content_text"`
	DatePublished string          `json:"date_published"`
	DateModified  string          `json:"date_modified"`
	Kubernetes    *struct {
		IssueNumber    json.Number `json:"issue_number"`
		GoogleGroupURL string      `json:"google_group_url"`
	} `json:"_kubernetes_io"`
}

// ParseFeed reads a Kubernetes CVE feed. The document must be a JSON Feed
// (version https://jsonfeed.org/version/1 or 1.1) with an items array;
// unknown fields are ignored. An item that cannot be read (no id, an id that
// is not a vulnerability identifier, a date that is not RFC 3339, an
// oversized text) is reported in Problems and left out.
func ParseFeed(data []byte) (*Feed, error) {
	if len(data) > MaxFeedSize {
		return nil, fmt.Errorf("%w: the feed is %d bytes, more than the %d allowed", ErrInvalid, len(data), MaxFeedSize)
	}
	var raw rawFeed
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: the feed is not a JSON Feed document: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: the feed has data after its JSON document", ErrInvalid)
	}
	if !strings.HasPrefix(raw.Version, jsonFeedVersion) {
		return nil, fmt.Errorf("%w: version %q is not a JSON Feed version (https://jsonfeed.org/version/1.1)", ErrInvalid, clip(raw.Version, 60))
	}
	if raw.Items == nil {
		return nil, fmt.Errorf("%w: the feed has no items array", ErrInvalid)
	}
	if len(raw.Items) > MaxFeedItems {
		return nil, fmt.Errorf("%w: the feed has %d items, more than the %d allowed", ErrInvalid, len(raw.Items), MaxFeedItems)
	}
	f := &Feed{Version: raw.Version, Title: raw.Title, FeedURL: raw.FeedURL, HomePageURL: raw.HomePageURL}
	if k := raw.Kubernetes; k != nil {
		var err error
		if f.RefreshedAt, err = parseTime("_kubernetes_io.feed_refreshed_at", k.FeedRefreshedAt); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if f.UpdatedAt, err = parseTime("_kubernetes_io.updated_at", k.UpdatedAt); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	for i, rm := range raw.Items {
		it, err := parseItem(rm)
		if err != nil {
			id := ""
			if it != nil && len(it.IDs) > 0 {
				id = it.IDs[0]
			}
			f.Problems = append(f.Problems, Problem{ID: id, Reason: fmt.Sprintf("items[%d]: %v", i, err)})
			continue
		}
		f.Items = append(f.Items, *it)
	}
	return f, nil
}

func parseItem(data json.RawMessage) (*FeedItem, error) {
	var r rawItem
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not a feed item: %v", err)
	}
	var id string
	if err := json.Unmarshal(r.ID, &id); err != nil || strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("no id (a string)")
	}
	it := &FeedItem{}
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if len(it.IDs) == maxIDsPerItem {
			return it, fmt.Errorf("more than %d ids", maxIDsPerItem)
		}
		if !osv.ValidID(part) {
			return it, fmt.Errorf("id %q is not a vulnerability identifier", clip(part, 40))
		}
		it.IDs = append(it.IDs, part)
	}
	if len(it.IDs) == 0 {
		return it, fmt.Errorf("no id")
	}
	if len(r.ContentText) > maxItemText {
		return it, fmt.Errorf("content_text is %d bytes, more than the %d allowed", len(r.ContentText), maxItemText)
	}
	if len(r.Summary) > maxSummary || len(r.Title) > maxSummary {
		return it, fmt.Errorf("summary or title longer than %d bytes", maxSummary)
	}
	var err error
	if it.DatePublished, err = parseTime("date_published", r.DatePublished); err != nil {
		return it, err
	}
	if it.DateModified, err = parseTime("date_modified", r.DateModified); err != nil {
		return it, err
	}
	it.URL, it.ExternalURL, it.Title = r.URL, r.ExternalURL, r.Title
	it.Summary, it.ContentText = strings.TrimSpace(r.Summary), r.ContentText
	if k := r.Kubernetes; k != nil {
		it.GoogleGroupURL = k.GoogleGroupURL
		if k.IssueNumber != "" {
			n, err := k.IssueNumber.Int64()
			if err != nil || n < 0 {
				return it, fmt.Errorf("_kubernetes_io.issue_number %q is not an issue number", clip(string(k.IssueNumber), 30))
			}
			it.IssueNumber = n
		}
	}
	return it, nil
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, clip(s, 40))
	}
	return t.UTC(), nil
}

var (
	placeholderWord = regexp.MustCompile(`(?i)\bplaceholder\b`)
	reservedMark    = regexp.MustCompile(`(?i)^[\W_]*reserved\b`)
	rejectedMark    = regexp.MustCompile(`(?i)^[\W_]*(reject|rejected|withdrawn)\b`)
)

// placeholder reports whether an announcement is a placeholder: no summary
// and no content, or marked as a placeholder or a reserved CVE.
func placeholder(summary, content string) bool {
	summary, content = strings.TrimSpace(summary), strings.TrimSpace(content)
	if summary == "" && content == "" {
		return true
	}
	head := content
	if len(head) > 200 {
		head = head[:200]
	}
	for _, s := range []string{summary, head} {
		if placeholderWord.MatchString(s) || reservedMark.MatchString(s) {
			return true
		}
	}
	return false
}

// rejected reports whether an announcement says the CVE was rejected or
// withdrawn.
func rejected(summary, content string) bool {
	return rejectedMark.MatchString(strings.TrimSpace(summary)) || rejectedMark.MatchString(strings.TrimSpace(content))
}

// Advisories turns the feed's items into advisories, one per CVE an item
// names. source names the feed in the advisories.
func (f *Feed) Advisories(source string) []Advisory {
	var out []Advisory
	for _, it := range f.Items {
		affected, mitigations := parseContent(it.ContentText)
		summary := it.Summary
		if summary == "" {
			summary = it.Title
		}
		for _, id := range it.IDs {
			a := Advisory{
				ID:          id,
				Summary:     summary,
				Details:     it.ContentText,
				URL:         it.URL,
				ExternalURL: it.ExternalURL,
				Published:   it.DatePublished,
				Modified:    it.DateModified,
				Source:      source,
				Affected:    affected,
				Mitigations: mitigations,
				origin:      originFeed,
			}
			if a.Modified.IsZero() {
				a.Modified = a.Published
			}
			if rejected(summary, it.ContentText) {
				w := a.Modified
				a.Withdrawn = &w
			}
			out = append(out, a)
		}
	}
	return out
}

// The announcements follow the Security Response Committee's template:
// "Affected Versions" and "Fixed Versions" headings with one bullet per
// component and version range ("- kube-apiserver v1.29.0 - v1.29.3",
// "- kubelet <= v1.27.12"), and a "How do I mitigate this vulnerability?"
// section. The template is prose, not a schema, so lines that do not read as
// a component and a version range are skipped rather than guessed at.

type section int

const (
	sectionOther section = iota
	sectionAffected
	sectionFixed
	sectionMitigation
)

var (
	boldHeading = regexp.MustCompile(`^\*\*([^*]+)\*\*:?$`)
	bulletLine  = regexp.MustCompile(`^\s*[-*+]\s+(.*)$`)
	versionWord = regexp.MustCompile(`^v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?$`)
)

func classifyHeading(line string) (section, bool) {
	t := strings.TrimSpace(line)
	var text string
	switch {
	case strings.HasPrefix(t, "#"):
		text = strings.TrimLeft(t, "# ")
	case boldHeading.MatchString(t):
		text = boldHeading.FindStringSubmatch(t)[1]
	default:
		return 0, false
	}
	l := strings.ToLower(text)
	switch {
	case strings.Contains(l, "affected version"):
		return sectionAffected, true
	case strings.Contains(l, "fixed version"):
		return sectionFixed, true
	case strings.Contains(l, "mitigat"):
		return sectionMitigation, true
	}
	return sectionOther, true
}

// parseContent reads the affected and fixed versions and the mitigations of
// an announcement.
func parseContent(text string) ([]Affected, string) {
	if len(text) > maxItemText {
		text = text[:maxItemText]
	}
	byComp := map[string]*Affected{}
	var order []string
	get := func(c string) *Affected {
		if a, ok := byComp[c]; ok {
			return a
		}
		a := &Affected{Component: c, Ecosystem: "Kubernetes"}
		byComp[c] = a
		order = append(order, c)
		return a
	}
	var unscopedFixes []string
	var mitigation []string
	cur := sectionOther
	for _, ln := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if s, ok := classifyHeading(ln); ok {
			cur = s
			continue
		}
		switch cur {
		case sectionMitigation:
			mitigation = append(mitigation, ln)
		case sectionAffected, sectionFixed:
			m := bulletLine.FindStringSubmatch(ln)
			if m == nil {
				continue
			}
			comp, expr := splitEntry(m[1])
			if expr == nil {
				continue
			}
			if cur == sectionFixed {
				v := expr.fix()
				if v == "" {
					continue
				}
				if comp == "" {
					unscopedFixes = append(unscopedFixes, v)
				} else {
					get(comp).Fixed = append(get(comp).Fixed, v)
				}
				continue
			}
			a := get(comp)
			if expr.exact != "" {
				a.Versions = append(a.Versions, expr.exact)
			} else {
				a.Ranges = append(a.Ranges, osv.Range{Type: osv.RangeSemver, Events: expr.events})
			}
		}
	}
	var out []Affected
	for _, c := range order {
		a := byComp[c]
		a.Fixed = append(a.Fixed, unscopedFixes...)
		out = append(out, *a)
	}
	if len(out) == 0 && len(unscopedFixes) > 0 {
		out = append(out, Affected{Ecosystem: "Kubernetes", Fixed: unscopedFixes})
	}
	return out, cleanMitigation(mitigation)
}

// entryExpr is a version expression of one bullet.
type entryExpr struct {
	exact  string
	events []osv.Event
}

// fix reads the expression as a fixed version: "v1.29.4" or ">= v1.29.4".
func (e *entryExpr) fix() string {
	if e.exact != "" {
		return e.exact
	}
	if len(e.events) == 1 && e.events[0].Introduced != "" && e.events[0].Introduced != "0" {
		return e.events[0].Introduced
	}
	return ""
}

// splitEntry reads "kube-apiserver v1.29.0 - v1.29.3" into the component
// and the version expression; nil if the versions are not readable.
func splitEntry(s string) (string, *entryExpr) {
	s = strings.NewReplacer("`", " ", ",", " ", "–", " - ", "—", " - ", "≤", " <= ", "≥", " >= ").Replace(s)
	var words []string
	for _, w := range strings.Fields(s) {
		w = strings.TrimRight(w, ".;)")
		w = strings.TrimLeft(w, "(")
		// "v1.29.0-v1.29.3" written without spaces.
		if i := strings.Index(w, "-v"); i > 0 && versionWord.MatchString(w[:i]) && versionWord.MatchString(w[i+1:]) {
			words = append(words, w[:i], "-", w[i+1:])
			continue
		}
		if w != "" {
			words = append(words, w)
		}
	}
	i := 0
	var comp []string
	for ; i < len(words); i++ {
		w := words[i]
		if versionWord.MatchString(w) || isOperator(w) {
			break
		}
		comp = append(comp, strings.TrimSuffix(w, ":"))
	}
	name := strings.TrimSpace(strings.Join(comp, " "))
	rest := words[i:]
	ver := func(w string) (string, bool) {
		c, ok := osv.Canonical(w)
		return c, ok && versionWord.MatchString(w)
	}
	switch {
	case len(rest) == 1:
		if v, ok := ver(rest[0]); ok {
			return name, &entryExpr{exact: v}
		}
	case len(rest) == 3 && (rest[1] == "-" || strings.EqualFold(rest[1], "to") || strings.EqualFold(rest[1], "through")):
		a, ok1 := ver(rest[0])
		b, ok2 := ver(rest[2])
		if ok1 && ok2 && compareVersions(a, b) <= 0 {
			return name, &entryExpr{events: []osv.Event{{Introduced: a}, {LastAffected: b}}}
		}
	case len(rest) == 2:
		v, ok := ver(rest[1])
		if !ok {
			break
		}
		switch strings.ToLower(rest[0]) {
		case "<=":
			return name, &entryExpr{events: []osv.Event{{Introduced: "0"}, {LastAffected: v}}}
		case "<", "before", "prior":
			return name, &entryExpr{events: []osv.Event{{Introduced: "0"}, {Fixed: v}}}
		case ">=":
			return name, &entryExpr{events: []osv.Event{{Introduced: v}}}
		}
	case len(rest) == 4 && rest[0] == ">=" && (rest[2] == "<" || rest[2] == "<="):
		a, ok1 := ver(rest[1])
		b, ok2 := ver(rest[3])
		if !ok1 || !ok2 || compareVersions(a, b) > 0 {
			break
		}
		end := osv.Event{Fixed: b}
		if rest[2] == "<=" {
			end = osv.Event{LastAffected: b}
		}
		return name, &entryExpr{events: []osv.Event{{Introduced: a}, end}}
	}
	return name, nil
}

func isOperator(w string) bool {
	switch strings.ToLower(w) {
	case "<", "<=", ">", ">=", "-", "before", "prior":
		return true
	}
	return false
}

// cleanMitigation turns the mitigation section into one bounded paragraph.
func cleanMitigation(lines []string) string {
	var b strings.Builder
	for _, ln := range lines {
		ln = strings.TrimSpace(ln)
		if m := bulletLine.FindStringSubmatch(ln); m != nil {
			ln = m[1]
		}
		if ln == "" || strings.HasPrefix(ln, "```") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ln)
		if b.Len() > 4*maxMitigation {
			break
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) <= maxMitigation {
		return s
	}
	cut := strings.LastIndexByte(s[:maxMitigation], ' ')
	if cut <= 0 {
		cut = maxMitigation
	}
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + " …"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
