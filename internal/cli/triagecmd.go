package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newTriageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "triage",
		Short: "List, show and answer triages",
		Long: `A triage is the conversation about one vulnerability in one dependency
module, across every maintained branch where it shows up. Its state is
derived from its history:

  open       a branch needs a person's assessment
  assessed   every branch has a decision, not yet all published
  published  every branch's decision is in its VEX document
  closed     the vulnerability is on no maintained branch any more

Maintainers answer with slash commands (run 'vexloom triage help').`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTriageListCmd(g), newTriageShowCmd(g), newTriageCommentCmd(g), newTriageHelpCmd())
	return cmd
}

func newTriageHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help",
		Short: "Show the slash commands maintainers answer triages with",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), chatops.Help())
			return err
		},
	}
}

func newTriageListCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		state  string
		format string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the triages that need a person, oldest first (--state all: every triage)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			var want triage.State
			if state != "" && state != "all" {
				s, err := triage.ParseState(state)
				if err != nil {
					return usageError("--state: %v", err)
				}
				want = s
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			views, err := p.views(ctx)
			if err != nil {
				return err
			}
			var out []triage.View
			for _, v := range views {
				if want == "" || v.State == want {
					out = append(out, v)
				}
			}
			if state == "" {
				// By default, the queue: what needs a person, the one
				// waiting longest first (as the dashboard shows it).
				out = triage.Queue(views)
			}
			if format == "json" {
				list := []triageOutput{}
				for _, v := range out {
					list = append(list, triageJSON(v, false))
				}
				return jsonx.Write(cmd.OutOrStdout(), struct {
					Schema  string         `json:"schema"`
					Triages []triageOutput `json:"triages"`
				}{schemaBase + "triages/v1", list})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TRIAGE\tSTATE\tVULNERABILITY\tMODULE\tLEVEL\tBRANCHES")
			for _, v := range out {
				state, branches := string(v.State), branchSummary(v)
				if p.isAdvisory(v) {
					state, branches = "advisory", "(the project's own advisory: vexloom advisories list)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Args(v.ID, state, v.Name(), v.Dependency, levelName(v), branches)...)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(out) == 0 && state == "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "no triage needs a person (--state all lists every triage)")
			} else if len(out) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no triages")
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "list the triages in this `state` (open, assessed, published, closed, or all) instead of those needing a person, oldest first")
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	return cmd
}

func newTriageShowCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "show TRIAGE",
		Short: "Show one triage: where it is found, the decisions in force, its history",
		Long: `Show one triage. TRIAGE is its ID (vx-…) or a vulnerability ID or alias
(GO-…, CVE-…, GHSA-…) that names a single triage.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			v, err := p.view(ctx, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return jsonx.Write(cmd.OutOrStdout(), triageJSON(v, true))
			}
			return writeTriage(cmd.OutOrStdout(), v)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	return cmd
}

func newTriageCommentCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		author string
	)
	cmd := &cobra.Command{
		Use:   "comment TRIAGE (TEXT | -)",
		Short: "Answer a triage with a comment holding slash commands (the local backend)",
		Long: `Comment on a triage as a maintainer, the way one would on an issue: the
slash commands in TEXT (or standard input, with -) are applied at once if
--as is allowed to decide the triage by the OWNERS files; the answer says
what was done or why nothing was. Run 'vexloom update' to publish the
decision in the branches' VEX documents.

Example:
  vexloom triage comment vx-abc123 --as alice \
    '/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted input reaches html.Parse'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if author == "" {
				return usageError("--as is required: the login of the person commenting")
			}
			body := args[1]
			if body == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxCommentSize+1))
				if err != nil {
					return fmt.Errorf("reading the comment: %w", err)
				}
				body = string(b)
			}
			if len(body) > maxCommentSize {
				return fmt.Errorf("the comment is larger than %d bytes", maxCommentSize)
			}
			ctx := cmd.Context()
			prog := g.progress(cmd)
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			t, err := p.store.FindTriage(ctx, args[0])
			if err != nil {
				return err
			}
			repo, err := p.openRepository(ctx, g, prog)
			if err != nil {
				return err
			}
			policy, err := p.policy(ctx, repo, prog)
			if err != nil {
				return err
			}
			maintained, err := p.maintained(ctx)
			if err != nil {
				return err
			}
			now := g.now()
			c := triage.Comment{Ref: localCommentRef(t.ID, author, body, now), TriageID: t.ID, Author: author, Body: body, At: now}
			out, err := triage.Apply(ctx, p.store, triage.Rules{Policy: policy, Maintained: maintained}, c)
			if err != nil {
				return err
			}
			if _, err := triage.Reconcile(ctx, p.store, maintained, t.ID); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch out.Kind {
			case triage.OutcomeApplied:
				fmt.Fprintf(w, "%s: applied\n", t.ID)
				if out.Reply != "" {
					fmt.Fprintln(w, termtext.Text(out.Reply))
				}
				fmt.Fprintln(w, "Run `vexloom update` to publish it in the branches' VEX.")
				return nil
			case triage.OutcomeIgnored:
				fmt.Fprintf(w, "%s: no vexloom command in the comment; nothing changed\n", t.ID)
				return nil
			default:
				fmt.Fprintf(w, "%s: %s; nothing changed\n\n%s\n", t.ID, out.Kind, termtext.Text(out.Reply))
				return silentExit(1)
			}
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&author, "as", "", "the `login` of the person commenting (checked against the OWNERS files)")
	return cmd
}

// maxCommentSize bounds a comment, as GitHub bounds an issue comment.
const maxCommentSize = 65536

// localCommentRef identifies a comment made with `vexloom triage comment`.
func localCommentRef(triageID, author, body string, at time.Time) string {
	sum := sha256.Sum256([]byte(triageID + "\x00" + author + "\x00" + body + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	return "local:" + hex.EncodeToString(sum[:8])
}

// views derives every triage's view against the maintained branches.
func (p *project) views(ctx context.Context) ([]triage.View, error) {
	maintained, err := p.maintained(ctx)
	if err != nil {
		return nil, err
	}
	views, err := triage.Views(ctx, p.store, maintained)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(views, func(i, j int) bool {
		if views[i].State != views[j].State {
			return stateOrder(views[i].State) < stateOrder(views[j].State)
		}
		return views[i].ID < views[j].ID
	})
	return views, nil
}

// view finds one triage by ID or vulnerability alias.
func (p *project) view(ctx context.Context, ref string) (triage.View, error) {
	t, err := p.store.FindTriage(ctx, ref)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return triage.View{}, fmt.Errorf("no triage %s: run `vexloom triage list` to see them", ref)
		}
		return triage.View{}, err
	}
	maintained, err := p.maintained(ctx)
	if err != nil {
		return triage.View{}, err
	}
	return triage.ViewOf(ctx, p.store, t, maintained)
}

func stateOrder(s triage.State) int {
	switch s {
	case triage.Open:
		return 0
	case triage.Assessed:
		return 1
	case triage.Published:
		return 2
	}
	return 3
}

func levelName(v triage.View) string {
	l := v.MaxLevel()
	if l == 0 {
		return "-"
	}
	return l.String()
}

func branchSummary(v triage.View) string {
	if len(v.Branches) == 0 {
		if len(v.LastSeen) > 0 {
			return "(last seen on " + strings.Join(v.LastSeen, ", ") + ")"
		}
		return "-"
	}
	var parts []string
	for _, b := range v.Branches {
		d := "needs a person"
		if b.Decision != nil && !b.NeedsPerson() {
			d = b.Decision.Status
		}
		if b.Flagged {
			d = "re-assess"
		}
		parts = append(parts, b.Branch+": "+d)
	}
	return strings.Join(parts, "; ")
}

// triageOutput is a triage in vexloom's JSON (schema triages/v1 and
// triage/v1).
type triageOutput struct {
	Schema        string            `json:"schema,omitempty"`
	ID            string            `json:"id"`
	Vulnerability string            `json:"vulnerability"`
	Aliases       []string          `json:"aliases"`
	Summary       string            `json:"summary,omitempty"`
	Dependency    string            `json:"dependency"`
	State         string            `json:"state"`
	Since         *time.Time        `json:"since,omitempty"`
	Created       time.Time         `json:"created"`
	Branches      []branchOutput    `json:"branches"`
	LastSeen      []string          `json:"last_seen,omitempty"`
	History       []eventOutput     `json:"history,omitempty"`
	Extra         map[string]string `json:"-"`
}

type branchOutput struct {
	Branch       string               `json:"branch"`
	Commit       string               `json:"commit"`
	Level        string               `json:"level"`
	Observations []triage.Observation `json:"observations"`
	Decision     *decisionOutput      `json:"decision"`
	Automatic    *decisionOutput      `json:"automatic"`
	NeedsPerson  bool                 `json:"needs_person"`
	Flagged      bool                 `json:"flagged"`
	Published    bool                 `json:"published"`
}

type decisionOutput struct {
	Seq           int64     `json:"seq"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	Impact        string    `json:"impact_statement,omitempty"`
	Action        string    `json:"action_statement,omitempty"`
	Author        string    `json:"author"`
	Source        string    `json:"source"`
	At            time.Time `json:"at"`
}

type eventOutput struct {
	Seq           int64           `json:"seq"`
	Triage        string          `json:"triage"`
	Kind          string          `json:"kind"`
	At            time.Time       `json:"at"`
	Author        string          `json:"author"`
	Source        string          `json:"source,omitempty"`
	Branches      []string        `json:"branches,omitempty"`
	Status        string          `json:"status,omitempty"`
	Justification string          `json:"justification,omitempty"`
	Impact        string          `json:"impact_statement,omitempty"`
	Action        string          `json:"action_statement,omitempty"`
	Notes         string          `json:"notes,omitempty"`
	Command       string          `json:"command,omitempty"`
	Comment       string          `json:"comment,omitempty"`
	Retracts      int64           `json:"retracts,omitempty"`
	Evidence      json.RawMessage `json:"evidence,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	// Releases are the tracked releases whose VEX this decision reached,
	// as RELEASE@vVERSION (the first version stating it).
	Releases []string `json:"releases,omitempty"`
}

func decisionJSON(ev *store.Event) *decisionOutput {
	if ev == nil {
		return nil
	}
	return &decisionOutput{Seq: ev.Seq, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action, Author: ev.Author, Source: ev.Source, At: ev.At.UTC()}
}

func eventJSON(ev store.Event) eventOutput {
	return eventOutput{
		Seq: ev.Seq, Triage: ev.TriageID, Kind: string(ev.Kind), At: ev.At.UTC(), Author: ev.Author, Source: ev.Source,
		Branches: ev.Branches, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action,
		Notes: ev.Notes, Command: ev.Command, Comment: ev.CommentRef, Retracts: ev.Retracts,
		Evidence: ev.Evidence, Data: ev.Data,
	}
}

func triageJSON(v triage.View, history bool) triageOutput {
	out := triageOutput{
		ID: v.ID, Vulnerability: v.Name(), Aliases: []string{}, Summary: v.Vulnerability.Summary,
		Dependency: v.Dependency, State: string(v.State), Created: v.Created.UTC(), Branches: []branchOutput{}, LastSeen: v.LastSeen,
	}
	for _, a := range append([]string{v.VulnID}, v.Vulnerability.Aliases...) {
		if a != out.Vulnerability && a != "" {
			out.Aliases = append(out.Aliases, a)
		}
	}
	if !v.Since.IsZero() {
		s := v.Since.UTC()
		out.Since = &s
	}
	for _, b := range v.Branches {
		bo := branchOutput{
			Branch: b.Branch, Commit: b.Commit, Level: b.Level.String(), Observations: b.Observations,
			Decision: decisionJSON(b.Decision), Automatic: decisionJSON(b.Automatic),
			NeedsPerson: b.NeedsPerson(), Flagged: b.Flagged,
			Published: b.Decision != nil && b.PublishedDecision == b.Decision.Seq,
		}
		out.Branches = append(out.Branches, bo)
	}
	if history {
		out.Schema = schemaBase + "triage/v1"
		out.History = []eventOutput{}
		for _, ev := range v.Events {
			out.History = append(out.History, eventJSON(ev))
		}
	}
	return out
}

func writeTriage(w io.Writer, v triage.View) error {
	fmt.Fprintf(w, "%s  %s in %s  [%s]\n", termtext.Args(v.ID, v.Name(), v.Dependency, v.State)...)
	if v.Vulnerability.Summary != "" {
		fmt.Fprintf(w, "  %s\n", termtext.Line(v.Vulnerability.Summary))
	}
	if len(v.Vulnerability.Aliases) > 0 || v.VulnID != v.Name() {
		ids := append([]string{v.VulnID}, v.Vulnerability.Aliases...)
		fmt.Fprintf(w, "  also known as: %s\n", termtext.Line(strings.Join(uniqueExcept(ids, v.Name()), ", ")))
	}
	fmt.Fprintln(w)
	if len(v.Branches) == 0 {
		fmt.Fprintln(w, "Not found on any maintained branch.")
	}
	for _, b := range v.Branches {
		fmt.Fprintf(w, "%s @ %s: %s", termtext.Args(b.Branch, shortHash(b.Commit), b.Level)...)
		for _, o := range b.Observations {
			fmt.Fprintf(w, "\n  %s uses %s@%s", termtext.Args(o.Module, v.Dependency, o.DependencyVersion)...)
			if len(o.Symbols) > 0 {
				fmt.Fprintf(w, " (calls %s)", termtext.Line(strings.Join(o.Symbols, ", ")))
			}
		}
		fmt.Fprintln(w)
		switch {
		case b.Flagged:
			fmt.Fprintf(w, "  ! a maintainer's decision no longer holds: the finding is now at %s level; re-assess\n", b.Level)
		case b.Decision == nil:
			fmt.Fprintln(w, "  no decision: needs a person")
		default:
			d := b.Decision
			fmt.Fprintf(w, "  decision: %s", termtext.Line(string(d.Status)))
			if d.Justification != "" {
				fmt.Fprintf(w, " (%s)", termtext.Line(string(d.Justification)))
			}
			fmt.Fprintf(w, " by %s, %s\n", termtext.Line(d.Author), d.At.UTC().Format(time.RFC3339))
			if b.NeedsPerson() {
				fmt.Fprintln(w, "  needs a person")
			}
		}
	}
	fmt.Fprintln(w, "\nHistory:")
	for _, ev := range v.Events {
		fmt.Fprintf(w, "  %s\n", eventLine(ev))
	}
	return nil
}

func uniqueExcept(ids []string, except string) []string {
	var out []string
	seen := map[string]bool{except: true}
	for _, id := range ids {
		if !seen[id] && id != "" {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// eventLine renders an event in one line for people, with what came from
// outside (authors, notes, reasons) escaped for a terminal.
func eventLine(ev store.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s %s", ev.Seq, ev.At.UTC().Format("2006-01-02 15:04"), ev.Author, ev.Kind)
	if ev.Status != "" {
		fmt.Fprintf(&b, " %s", ev.Status)
	}
	if ev.Justification != "" {
		fmt.Fprintf(&b, ":%s", ev.Justification)
	}
	if len(ev.Branches) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(ev.Branches, ","))
	}
	if ev.Retracts != 0 {
		fmt.Fprintf(&b, " retracts #%d", ev.Retracts)
	}
	switch ev.Kind {
	case store.KindState:
		var sc struct{ From, To, Reason string }
		if json.Unmarshal(ev.Data, &sc) == nil {
			if sc.From == "" {
				sc.From = "new"
			}
			fmt.Fprintf(&b, " %s → %s (%s)", sc.From, sc.To, sc.Reason)
		}
	case store.KindPublished:
		var pb struct {
			Decision int64 `json:"decision"`
			Version  int   `json:"document_version"`
		}
		if json.Unmarshal(ev.Data, &pb) == nil {
			fmt.Fprintf(&b, " #%d in VEX v%d", pb.Decision, pb.Version)
		}
	}
	if ev.Notes != "" {
		fmt.Fprintf(&b, " — %s", oneLine(ev.Notes))
	} else if ev.Impact != "" {
		fmt.Fprintf(&b, " — %s", oneLine(ev.Impact))
	} else if ev.Action != "" {
		fmt.Fprintf(&b, " — %s", oneLine(ev.Action))
	}
	return termtext.Line(b.String())
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 100 {
		// Cut at a character's start, so no character is split.
		n := 97
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "..."
	}
	return s
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageError("--format must be %s, not %q", strings.Join(allowed, " or "), format)
}
