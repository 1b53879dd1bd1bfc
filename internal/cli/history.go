package cli

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newHistoryCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		format string
		since  string
	)
	cmd := &cobra.Command{
		Use:   "history [TRIAGE]",
		Short: "Show the append-only history of one triage or of all",
		Long: `Show the events of the store's history, oldest first: observations, the
scanner's automatic assessments, maintainers' decisions with their comment,
withdrawals, state changes and publications. Nothing in it is ever changed
or deleted.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			var after time.Time
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					d, derr := time.ParseDuration(since)
					if derr != nil {
						return usageError("--since takes an RFC 3339 time or a duration such as 72h, not %q", since)
					}
					t = g.now().Add(-d)
				}
				after = t
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			id := ""
			if len(args) == 1 {
				t, err := p.store.FindTriage(ctx, args[0])
				if err != nil {
					return err
				}
				id = t.ID
			}
			out, comments, err := p.store.History(ctx, id, after)
			if err != nil {
				return err
			}
			reached, err := release.Reached(ctx, p.store)
			if err != nil {
				return err
			}
			if format == "json" {
				list := []eventOutput{}
				for _, ev := range out {
					e := eventJSON(ev)
					e.Releases = reached[ev.Seq]
					list = append(list, e)
				}
				return jsonx.Write(cmd.OutOrStdout(), struct {
					Schema string        `json:"schema"`
					Events []eventOutput `json:"events"`
				}{schemaBase + "history/v1", list})
			}
			w := cmd.OutOrStdout()
			for _, ev := range out {
				prefix := ""
				if len(args) == 0 {
					prefix = ev.TriageID + " "
				}
				fmt.Fprintf(w, "%s%s\n", termtext.Line(prefix), eventLine(ev))
				if rs := reached[ev.Seq]; len(rs) > 0 {
					fmt.Fprintf(w, "    reached releases: %s\n", termtext.Line(strings.Join(rs, ", ")))
				}
				if c, ok := comments[ev.CommentRef]; ok && ev.CommentRef != "" {
					for l := range strings.Lines(c.Body) {
						fmt.Fprintf(w, "    > %s\n", termtext.Line(strings.TrimSuffix(l, "\n")))
					}
				}
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this `time` (RFC 3339, or a duration back from now such as 72h)")
	return cmd
}

// eventLine renders an event in one line for people, with what came from
// outside (authors, notes, reasons) escaped for a terminal.
func eventLine(ev store.Event) string {
	line := fmt.Sprintf("#%d %s %s %s", ev.Seq, ev.At.UTC().Format("2006-01-02 15:04"), ev.Author, triage.EventSummary(ev))
	if note := triage.EventNote(ev); note != "" {
		line += " — " + oneLine(note)
	}
	return termtext.Line(line)
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
