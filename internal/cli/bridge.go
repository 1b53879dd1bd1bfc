package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/bridge"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vulndb"
)

func init() { commands = append(commands, newBridgeCmd) }

// bridgeAuthor and bridgeSource mark the events the bridge records.
const (
	bridgeAuthor = "vexloom"
	bridgeSource = "bridge"
)

func newBridgeCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		from   string
		label  string
		api    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "bridge --from ORG/REPO --label LABEL",
		Short: "Open triages from labelled issues in another repository and copy approvers' answers",
		Long: `Read every issue, open or closed, labelled LABEL in the repository ORG/REPO
(Kubernetes' alpha workflow: vex-unaffected-feed in kubernetes/kubernetes),
take the vulnerability IDs and the affected Go module it names, and open the
matching triage, or find the one that exists, with a link back to the issue.

Slash commands in the issue's comments are copied into the triage only when
their author may decide it by the OWNERS files and every command in the
comment parses; they are then applied as if made on the triage. Anything the
bridge cannot read with certainty (no ID, no module or several, a malformed
or unauthorized command) is skipped and listed with the reason.

Vulnerability IDs are matched to the Go vulnerability database's (GO-…)
through what the store and the cached database know, so a bridged CVE lands
in the triage the scanner opened. Run 'vexloom update' first, and afterwards
to publish what was copied. Authentication is as for the GitHub triage
backend: GITHUB_TOKEN, or the project file's GitHub App.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			if strings.TrimSpace(from) == "" || strings.TrimSpace(label) == "" {
				return usageError("--from ORG/REPO and --label LABEL are required")
			}
			return runBridge(cmd, g, &pf, from, label, api, format)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the `org/repo` whose labelled issues are bridged (required)")
	cmd.Flags().StringVar(&label, "label", "", "the `label` marking the issues to bridge, such as vex-unaffected-feed (required)")
	registerGitHubAPI(cmd, &api)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	return cmd
}

func runBridge(cmd *cobra.Command, g *globals, pf *projectFlags, from, label, api, format string) error {
	ctx := cmd.Context()
	prog := g.progress(cmd)
	log := commandLogger(g, cmd)
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return err
	}
	defer p.Close()
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
	gh, tr, err := githubClient(ctx, g, p.cfg, api, log)
	if err != nil {
		return err
	}
	var db *vulndb.DB
	if cacheDir, err := g.cache(); err == nil {
		// The database only helps match IDs; without one the store's
		// aliases do; a database that is there but unreadable is an
		// error, not "no database".
		d, err := vulndb.Open(cacheDir)
		switch {
		case err == nil:
			db = d
		case !errors.Is(err, vulndb.ErrNoDatabase):
			return fmt.Errorf("reading the vulnerability database: %w", err)
		}
	}
	// What each copied comment did, by the comment's address (the
	// report names comments by it).
	outcomes := map[string]triage.Outcome{}
	rules := triage.Rules{Policy: policy, Maintained: maintained}
	rep, runErr := bridge.Run(ctx, bridge.Options{
		Client: gh, From: from, Label: label, Policy: policy, Logger: log,
		Open: func(ctx context.Context, c bridge.Candidate) (string, bool, error) {
			return openBridged(ctx, p.store, db, c)
		},
		Comment: func(ctx context.Context, c triage.Comment) error {
			out, err := triage.Apply(ctx, p.store, rules, c)
			if err != nil {
				return err
			}
			outcomes[c.URL] = out
			_, err = triage.Reconcile(ctx, p.store, maintained, c.TriageID)
			return err
		},
	})
	if errors.Is(runErr, bridge.ErrConfig) {
		return usageError("%v", runErr)
	}
	prog.Printf("github: %d %s", tr.Requests(), plural(tr.Requests(), "request"))
	w := cmd.OutOrStdout()
	if format == "json" {
		if err := jsonx.Write(w, bridgeJSON(from, label, rep, outcomes)); err != nil {
			return err
		}
	} else {
		writeBridgeReport(w, rep, outcomes)
	}
	if runErr != nil {
		return fmt.Errorf("bridging from %s: %w", from, runErr)
	}
	return nil
}

// openBridged opens the triage of a bridged issue, or finds the one that
// exists, and links it back to the issue once.
func openBridged(ctx context.Context, st *store.Store, db *vulndb.DB, c bridge.Candidate) (string, bool, error) {
	vuln, err := bridgedVuln(ctx, st, db, c.VulnIDs)
	if err != nil {
		return "", false, err
	}
	data, err := json.Marshal(map[string]string{"bridged_from": c.SourceURL})
	if err != nil {
		return "", false, err
	}
	link := store.Event{Kind: store.KindComment, Author: bridgeAuthor, Source: bridgeSource, Notes: "Bridged from " + c.SourceURL, Data: data}
	t, created, err := st.EnsureTriage(ctx, vuln, c.Module, []store.Event{link})
	if err != nil || created {
		return t.ID, created, err
	}
	_, err = st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
		for _, ev := range history {
			if ev.Kind == store.KindComment && ev.Source == bridgeSource && bridgedFrom(ev) == c.SourceURL {
				return nil, nil
			}
		}
		return []store.Event{link}, nil
	})
	return t.ID, false, err
}

func bridgedFrom(ev store.Event) string {
	var d struct {
		From string `json:"bridged_from"`
	}
	if json.Unmarshal(ev.Data, &d) != nil {
		return ""
	}
	return d.From
}

// bridgedVuln chooses the vulnerability ID of a bridged issue: the Go
// vulnerability database's ID (GO-…) the scanner uses, found through the
// aliases the store has recorded and then the cached database; else the
// first ID the issue names. IDs that resolve to different entries are
// ambiguous, and nothing is guessed.
func bridgedVuln(ctx context.Context, st *store.Store, db *vulndb.DB, ids []string) (string, error) {
	if len(ids) == 0 {
		return "", errors.New("no vulnerability ID")
	}
	var known []string
	for _, id := range ids {
		got, err := st.ResolveAlias(ctx, id)
		if err != nil {
			return "", err
		}
		if len(got) == 0 && db != nil {
			got, _ = db.Resolve(id)
		}
		for _, k := range got {
			if !slices.Contains(known, k) {
				known = append(known, k)
			}
		}
	}
	slices.Sort(known)
	switch len(known) {
	case 0:
		return ids[0], nil
	case 1:
		return known[0], nil
	}
	return "", fmt.Errorf("the IDs %s name %d different vulnerabilities (%s); the issue does not say which", strings.Join(ids, ", "), len(known), strings.Join(known, ", "))
}

func writeBridgeReport(w io.Writer, rep bridge.Report, outcomes map[string]triage.Outcome) {
	for _, b := range rep.Opened {
		fmt.Fprintf(w, "opened   %s  %s in %s  from %s\n", termtext.Args(b.TriageID, strings.Join(b.VulnIDs, ", "), b.Module, b.URL)...)
	}
	for _, b := range rep.Updated {
		fmt.Fprintf(w, "updated  %s  %s in %s  from %s\n", termtext.Args(b.TriageID, strings.Join(b.VulnIDs, ", "), b.Module, b.URL)...)
	}
	for _, c := range rep.Copied {
		out := outcomes[c.URL]
		fmt.Fprintf(w, "copied   %s  %s by %s from %s: %s\n", termtext.Args(c.TriageID, strings.Join(c.Commands, " "), c.Author, c.URL, copiedOutcome(out))...)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped  %s: %s\n", termtext.Args(s.URL, s.Reason)...)
	}
	fmt.Fprintf(w, "%d opened, %d updated, %d %s copied, %d skipped\n",
		len(rep.Opened), len(rep.Updated), len(rep.Copied), plural(len(rep.Copied), "comment"), len(rep.Skipped))
}

func copiedOutcome(o triage.Outcome) string {
	switch {
	case o.Kind == "":
		return "not applied"
	case o.Duplicate:
		return o.Kind + " before"
	}
	return o.Kind
}

type bridgeOutput struct {
	Schema  string          `json:"schema"`
	From    string          `json:"from"`
	Label   string          `json:"label"`
	Opened  []bridgedOutput `json:"opened"`
	Updated []bridgedOutput `json:"updated"`
	Copied  []copiedOutput  `json:"copied"`
	Skipped []skipOutput    `json:"skipped"`
}

type bridgedOutput struct {
	URL             string   `json:"url"`
	Triage          string   `json:"triage"`
	Vulnerabilities []string `json:"vulnerabilities"`
	Module          string   `json:"module"`
}

type copiedOutput struct {
	URL      string   `json:"url"`
	Triage   string   `json:"triage"`
	Author   string   `json:"author"`
	Commands []string `json:"commands"`
	Outcome  string   `json:"outcome"`
	Reply    string   `json:"reply,omitempty"`
}

type skipOutput struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

func bridgeJSON(from, label string, rep bridge.Report, outcomes map[string]triage.Outcome) bridgeOutput {
	out := bridgeOutput{
		Schema: schemaBase + "bridge/v1", From: from, Label: label,
		Opened: []bridgedOutput{}, Updated: []bridgedOutput{}, Copied: []copiedOutput{}, Skipped: []skipOutput{},
	}
	for _, b := range rep.Opened {
		out.Opened = append(out.Opened, bridgedOutput{URL: b.URL, Triage: b.TriageID, Vulnerabilities: b.VulnIDs, Module: b.Module})
	}
	for _, b := range rep.Updated {
		out.Updated = append(out.Updated, bridgedOutput{URL: b.URL, Triage: b.TriageID, Vulnerabilities: b.VulnIDs, Module: b.Module})
	}
	for _, c := range rep.Copied {
		o := outcomes[c.URL]
		out.Copied = append(out.Copied, copiedOutput{URL: c.URL, Triage: c.TriageID, Author: c.Author, Commands: c.Commands, Outcome: copiedOutcome(o), Reply: o.Reply})
	}
	for _, s := range rep.Skipped {
		out.Skipped = append(out.Skipped, skipOutput{URL: s.URL, Reason: s.Reason})
	}
	return out
}
