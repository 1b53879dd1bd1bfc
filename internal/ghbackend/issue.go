package ghbackend

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// The body of a triage issue is the generated part, which vexloom
// rewrites, and whatever maintainers write around it, which it keeps:
//
//	<!-- vexloom:data v1 {"triage":…,"vuln":…,"dependency":…,"hash":…} -->
//	…generated Markdown…
//	<!-- vexloom:end -->
//	…anything maintainers add…
//
// The data line is the machine part: it names the triage, so the issue is
// found again without the store, and the hash of the generated Markdown.
const (
	dataPrefix = "<!-- vexloom:data "
	endMarker  = "<!-- vexloom:end -->"
	// DataVersion is the version of the data line's format.
	DataVersion = "v1"
	// maxBodyRead bounds the issue body read for the data line (GitHub's
	// limit on a body is 65536 characters, up to 4 bytes each).
	maxBodyRead = 4 * 65536
	// maxDataLine bounds the data line.
	maxDataLine = 4096
	// maxDetails bounds the advisory text copied into a body.
	maxDetails = 4000
	// maxTraces bounds the call traces shown per branch.
	maxTraces = 5
)

// Errors of reading an issue's data line.
var (
	// ErrNoData: the issue holds no vexloom data line (not a triage issue).
	ErrNoData = errors.New("no vexloom data in the issue")
	// ErrBadData: the data line is there but unreadable or inconsistent.
	ErrBadData = errors.New("malformed vexloom data in the issue")
)

// IssueData is the machine part of a triage issue.
type IssueData struct {
	Triage     string `json:"triage"`
	Vuln       string `json:"vuln"`
	Dependency string `json:"dependency"`
	// Hash is the SHA-256 of the generated Markdown, hex.
	Hash string `json:"hash"`
}

// ParseIssueBody reads the data line of an issue body and the bounds of the
// generated part in it ([start, end) in bytes). The body is outside input:
// anything but a well-formed, consistent data line is an error.
func ParseIssueBody(body string) (IssueData, int, int, error) {
	if len(body) > maxBodyRead {
		body = body[:maxBodyRead]
	}
	start := strings.Index(body, dataPrefix)
	if start < 0 {
		return IssueData{}, 0, 0, ErrNoData
	}
	rest := body[start+len(dataPrefix):]
	lineEnd := strings.Index(rest, " -->")
	if lineEnd < 0 || lineEnd > maxDataLine {
		return IssueData{}, 0, 0, fmt.Errorf("%w: the data line is not closed", ErrBadData)
	}
	version, raw, ok := strings.Cut(rest[:lineEnd], " ")
	if !ok || version != DataVersion {
		return IssueData{}, 0, 0, fmt.Errorf("%w: unknown data version %q", ErrBadData, shorten(version, 16))
	}
	var d IssueData
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return IssueData{}, 0, 0, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	if dec.More() {
		return IssueData{}, 0, 0, fmt.Errorf("%w: trailing data", ErrBadData)
	}
	if err := d.check(); err != nil {
		return IssueData{}, 0, 0, err
	}
	end := len(body)
	if i := strings.Index(body[start:], endMarker); i >= 0 {
		end = start + i + len(endMarker)
	} else {
		return d, 0, 0, fmt.Errorf("%w: the generated part has no end marker", ErrBadData)
	}
	return d, start, end, nil
}

// check verifies the data names a triage whose ID belongs to its
// vulnerability and dependency, as store.TriageID derives it.
func (d IssueData) check() error {
	if d.Vuln == "" || d.Dependency == "" || len(d.Vuln) > 256 || len(d.Dependency) > 512 {
		return fmt.Errorf("%w: no vulnerability or dependency", ErrBadData)
	}
	want := store.TriageID(d.Vuln, d.Dependency)
	if !strings.HasPrefix(d.Triage, want) || len(d.Triage) > len(want)+4 {
		return fmt.Errorf("%w: triage %q is not the ID of %s in %s", ErrBadData, shorten(d.Triage, 32), shorten(d.Vuln, 64), shorten(d.Dependency, 64))
	}
	if len(d.Hash) != 64 {
		return fmt.Errorf("%w: bad hash", ErrBadData)
	}
	return nil
}

// Splice replaces the generated part of body with generated, keeping what
// maintainers wrote around it. A body whose generated part is gone or
// broken gets the new one on top, the rest kept below.
func Splice(body, generated string) string {
	if _, start, end, err := ParseIssueBody(body); err == nil && end <= len(body) {
		return body[:start] + generated + body[end:]
	}
	if strings.TrimSpace(body) == "" {
		return generated
	}
	return generated + "\n\n" + body
}

// rendered is what a triage's issue should show.
type rendered struct {
	title     string
	generated string // data line, Markdown, end marker
	hash      string
}

// render writes the issue of a triage.
// maxGenerated bounds the generated part of an issue body: GitHub refuses
// bodies over 65,536 characters, and a maintainer's own text must still fit.
const maxGenerated = 48 << 10

func render(v triage.View) rendered {
	md := renderMarkdown(v)
	if len(md) > maxGenerated {
		// Cut at a line, on a valid UTF-8 boundary, and say so.
		cut := strings.LastIndexByte(md[:maxGenerated], '\n')
		if cut < 0 {
			cut = maxGenerated
		}
		md = strings.ToValidUTF8(md[:cut], "") + "\n\n… cut here: the triage is larger than an issue can show; `vexloom triage show " + v.ID + "` has all of it.\n"
	}
	sum := sha256.Sum256([]byte(md))
	h := hex.EncodeToString(sum[:])
	data, _ := json.Marshal(IssueData{Triage: v.ID, Vuln: v.VulnID, Dependency: v.Dependency, Hash: h})
	gen := dataPrefix + DataVersion + " " + string(data) + " -->\n" + md + "\n" + endMarker
	return rendered{title: title(v), generated: gen, hash: h}
}

func title(v triage.View) string {
	return clean(v.Name()) + ": " + clean(v.Dependency)
}

// clean makes outside text safe inside the generated part: no HTML
// comment delimiters (which could fake or end vexloom's markers).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "<!--", "<!\u200b--")
	return strings.ReplaceAll(s, "-->", "--\u200b>")
}

// inline is clean outside text on one line, with Markdown table pipes
// escaped.
func inline(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(clean(s)), " "), "|", "\\|")
}

func renderMarkdown(v triage.View) string {
	var b strings.Builder
	vuln := v.Vulnerability
	fmt.Fprintf(&b, "## %s in %s\n\n", inline(v.Name()), inline(v.Dependency))
	if vuln.Summary != "" {
		fmt.Fprintf(&b, "**%s**\n\n", inline(vuln.Summary))
	}
	fmt.Fprintf(&b, "Triage `%s` is **%s**", v.ID, v.State)
	if ids := vuln.OtherIDs(); len(ids) > 0 {
		fmt.Fprintf(&b, "; the vulnerability is also known as %s", inline(strings.Join(ids, ", ")))
	}
	b.WriteString(".\n")
	if vuln.Details != "" {
		b.WriteString("\n### Details\n\n")
		b.WriteString(clean(shorten(strings.TrimSpace(vuln.Details), maxDetails)))
		b.WriteString("\n")
	}
	if len(v.Branches) > 0 {
		b.WriteString("\n### Branches\n\n")
		fmt.Fprintf(&b, "| Branch | Module | %s | Fixed in | Level | Decision |\n|---|---|---|---|---|---|\n", inline(v.Dependency))
		for _, br := range v.Branches {
			for _, o := range br.Observations {
				fixed := o.FixedVersion
				if fixed == "" {
					fixed = "no fix"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s (%s) | %s |\n", inline(br.Branch), inline(o.Module), inline(o.DependencyVersion), inline(fixed), o.Level, o.Level.Describe(), decisionText(&br))
			}
		}
		traces := renderTraces(v)
		if traces != "" {
			b.WriteString("\n### Call traces\n\nThe vulnerable code is reached from the scanned code:\n\n")
			b.WriteString(traces)
		}
	} else if len(v.LastSeen) > 0 {
		fmt.Fprintf(&b, "\nNo longer found on any maintained branch (last found on %s).\n", inline(strings.Join(v.LastSeen, ", ")))
	}
	var links []string
	if vuln.URL != "" {
		links = append(links, vuln.URL)
	} else if strings.HasPrefix(v.VulnID, "GO-") {
		links = append(links, "https://pkg.go.dev/vuln/"+v.VulnID)
	}
	for _, r := range vuln.References {
		if r.URL != "" && !slices.Contains(links, r.URL) && len(links) < 12 {
			links = append(links, r.URL)
		}
	}
	if len(links) > 0 {
		b.WriteString("\n### Links\n\n")
		for _, l := range links {
			fmt.Fprintf(&b, "- <%s>\n", inline(strings.NewReplacer("<", "%3C", ">", "%3E").Replace(l)))
		}
	}
	b.WriteString("\n### How to answer\n\n")
	b.WriteString("Comment on this issue with a command; vexloom reacts with 👍 to a command it recorded and replies when it cannot apply one.\n\n")
	b.WriteString("<details><summary>The commands</summary>\n\n")
	b.WriteString(chatops.Help())
	b.WriteString("\n</details>\n")
	return b.String()
}

func decisionText(b *triage.BranchState) string {
	switch {
	case b.Flagged:
		return "needs re-assessment (the finding rose)"
	case b.Decision == nil:
		return "needs a person"
	}
	d := b.Decision
	s := d.Status
	if d.Justification != "" {
		s += ": " + d.Justification
	}
	if d.Source == "automatic" {
		s += " (automatic)"
	} else if d.Author != "" {
		s += " by @" + d.Author
	}
	if b.NeedsPerson() {
		s += "; needs a person"
	}
	return inline(s)
}

func renderTraces(v triage.View) string {
	var b strings.Builder
	for _, br := range v.Branches {
		for _, o := range br.Observations {
			if o.Level != scan.LevelSymbol || len(o.Traces) == 0 {
				continue
			}
			fmt.Fprintf(&b, "%s, module %s:\n\n", inline(br.Branch), inline(o.Module))
			for i, tr := range o.Traces {
				if i == maxTraces {
					fmt.Fprintf(&b, "    … and %d more\n", len(o.Traces)-maxTraces)
					break
				}
				for j, fr := range tr {
					line := strings.Repeat("  ", j) + fr.Symbol()
					if p := fr.Position.String(); p != "" {
						line += " (" + p + ")"
					}
					b.WriteString("    " + strings.Join(strings.Fields(clean(line)), " ") + "\n")
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
