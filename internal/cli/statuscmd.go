package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

func newInitCmd(g *globals) *cobra.Command {
	var (
		o      config.InitOptions
		output string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter " + config.FileName,
		Long: `Write a starter project file, every key explained, holding the values
given as flags. It refuses to replace an existing file unless --force is
given. Example:

  vexloom init --module k8s.io/kubernetes \
    --repository https://github.com/kubernetes/kubernetes \
    --branch master --branch 'release-1.*' --security-team security-response-committee`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Module == "" {
				// Read it from the go.mod at the root of a local repository
				// (or of the current directory).
				dir := "."
				if o.Repository != "" && !source.IsRemote(o.Repository) {
					dir = filepath.Join(filepath.Dir(output), filepath.FromSlash(o.Repository))
				}
				if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
					o.Module = modfile.ModulePath(data)
				}
				if o.Module == "" {
					return usageError("--module is required: no go.mod at the repository's root to read it from")
				}
			}
			data, err := config.Starter(o)
			if err != nil {
				return usageError("%v", err)
			}
			if output == "-" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if _, err := os.Stat(output); err == nil && !force {
				return fmt.Errorf("%s exists; pass --force to replace it", output)
			}
			if err := writeFileAtomic(output, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; next: vexloom update\n", output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Module, "module", "", "the project's main Go `module` path (default: read from the go.mod at the root of a local repository or the current directory)")
	f.StringVar(&o.Repository, "repository", "", "the project's git `repository`: a URL or a path relative to the file (default: the directory of the file)")
	f.StringArrayVarP(&o.Branches, "branch", "b", nil, "a maintained `branch` name or pattern such as release-1.* (repeatable; required)")
	f.StringVar(&o.Owners, "owners", "", "a `directory` holding OWNERS files (default: read them from the repository's default branch)")
	f.StringVar(&o.Triage, "triage", "", "triage `backend`: local (default) or github")
	f.StringVar(&o.TriageRepository, "triage-repository", "", "the `owner/repo` holding GitHub triage issues (default: the .vexloom repository of the project's owner)")
	f.StringArrayVar(&o.SecurityTeam, "security-team", nil, "an OWNERS_ALIASES `alias` or login who may decide any triage (repeatable)")
	f.StringVar(&o.Author, "author", "", "the `author` of the VEX documents (default: \"<module> maintainers\")")
	f.StringVarP(&output, "output", "o", config.FileName, "`file` to write, - for stdout")
	f.BoolVar(&force, "force", false, "replace an existing file")
	return cmd
}

func newVEXCmd(g *globals) *cobra.Command {
	var (
		pf          projectFlags
		branch      string
		releaseName string
		version     int
		output      string
		format      string
	)
	cmd := &cobra.Command{
		Use:   "vex --branch BRANCH | --release TAG",
		Short: "Print a branch's or a tracked release's VEX document as last written by update",
		Long: `Print the OpenVEX document of a maintained branch from the store: the
latest version, or --version N. Every version ever written stays readable.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if releaseName != "" {
				if branch != "" {
					return usageError("--branch and --release exclude each other")
				}
				return releaseVEX(cmd, g, &pf, releaseName, version, format, output)
			}
			if branch == "" {
				return usageError("--branch or --release is required")
			}
			if err := checkFormat(format, "openvex", "json", "csaf", "cyclonedx"); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			var doc *store.Document
			if version == 0 {
				doc, err = p.store.LatestDocument(ctx, branch)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no VEX written for %s yet: run `vexloom update`", branch)
				}
				if err != nil {
					return err
				}
			} else {
				docs, err := p.store.Documents(ctx, branch)
				if err != nil {
					return err
				}
				for i := range docs {
					if docs[i].Version == version {
						doc = &docs[i]
					}
				}
				if doc == nil {
					return fmt.Errorf("%s has no VEX version %d (%d written)", branch, version, len(docs))
				}
			}
			// What the store holds is checked before it is handed out.
			parsed, err := vex.Parse(doc.Body)
			if err != nil {
				return fmt.Errorf("the stored VEX of %s version %d does not parse: %w", branch, doc.Version, err)
			}
			return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
				if format == "csaf" || format == "cyclonedx" {
					return writeVEXAs(w, parsed, format, p.cfg.Project.Repository)
				}
				if format == "json" {
					return jsonx.Write(w, struct {
						Schema      string          `json:"schema"`
						Branch      string          `json:"branch"`
						Version     int             `json:"version"`
						ContentHash string          `json:"content_hash"`
						Written     time.Time       `json:"written"`
						File        string          `json:"file"`
						Document    json.RawMessage `json:"document"`
					}{schemaBase + "vex/v1", doc.Branch, doc.Version, doc.ContentHash, doc.At.UTC(), doc.Path, json.RawMessage(doc.Body)})
				}
				_, err := w.Write(doc.Body)
				return err
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "openvex", "output `format`: openvex (the document), csaf or cyclonedx (its statements in CSAF 2.0 or CycloneDX 1.6) or json (the document with its version and where it was written)")
	cmd.Flags().StringVarP(&branch, "branch", "b", "", "the `branch`")
	cmd.Flags().StringVar(&releaseName, "release", "", "a tracked release's `tag` (or commit)")
	cmd.Flags().IntVar(&version, "version", 0, "a document `version` (default: the latest)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `file` instead of stdout")
	return cmd
}

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
			var evs []store.Event
			comments := map[string]store.Comment{}
			if len(args) == 1 {
				t, err := p.store.FindTriage(ctx, args[0])
				if err != nil {
					return err
				}
				evs, err = p.store.Events(ctx, t.ID)
				if err != nil {
					return err
				}
				cs, err := p.store.Comments(ctx, t.ID)
				if err != nil {
					return err
				}
				for _, c := range cs {
					comments[c.Ref] = c
				}
			} else {
				all, err := p.store.AllEvents(ctx)
				if err != nil {
					return err
				}
				for _, e := range all {
					evs = append(evs, e...)
				}
				sort.Slice(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq })
			}
			var out []store.Event
			for _, ev := range evs {
				if ev.At.Before(after) {
					continue
				}
				out = append(out, ev)
			}
			reached, err := p.releasesReached(ctx)
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

func newStatusCmd(g *globals) *cobra.Command {
	var (
		pf          projectFlags
		format      string
		allProjects bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Summarise the project: branches scanned, VEX versions, triages by state",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			if allProjects {
				u, err := pf.fleetURL(g)
				if err != nil {
					return err
				}
				return statusAllProjects(ctx, g, u, cmd.OutOrStdout(), format)
			}
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			st, err := p.status(cmd, g)
			if err != nil {
				return err
			}
			if format == "json" {
				return jsonx.Write(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "project %s (%s)\n\n", termtext.Args(st.Project, st.Store)...)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BRANCH\tCOMMIT\tSCANNED\tFINDINGS\tOPEN\tASSESSED\tPUBLISHED\tOLDEST OPEN\tVEX\tFILE")
			for _, b := range st.Branches {
				oldest := "-"
				if b.OldestOpen != nil {
					oldest = fmt.Sprintf("%dd (since %s)", b.OldestOpenDays, b.OldestOpen.Format(time.DateOnly))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\tv%d\t%s\n", termtext.Args(b.Branch, shortHash(b.Commit), b.Scanned.Format(time.RFC3339), b.Findings, b.Open, b.Assessed, b.Published, oldest, b.VEXVersion, b.VEXFile)...)
			}
			tw.Flush()
			for _, b := range st.Branches {
				if f := b.Failing; f != nil {
					kept := "no complete scan yet"
					if b.Commit != "" {
						kept = "keeps its last complete scan of " + shortHash(b.Commit)
					}
					fmt.Fprintf(w, "failing: %s since %s (%d %s, latest at %s on %s; %s): %s\n", termtext.Line(b.Branch), f.Since.Format(time.RFC3339), f.Attempts, plural(f.Attempts, "attempt"), f.At.Format(time.RFC3339), shortHash(f.Commit), kept, termtext.Line(f.Reason))
				}
			}
			writeReleaseStatus(w, st.Releases)
			fmt.Fprintf(w, "\ntriages: %d open, %d assessed, %d published, %d closed; %d of the project's own advisories\n", st.Triages["open"], st.Triages["assessed"], st.Triages["published"], st.Triages["closed"], st.Advisories)
			for _, id := range st.NeedsPerson {
				fmt.Fprintf(w, "  needs a person: %s\n", termtext.Line(id))
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	cmd.Flags().BoolVar(&allProjects, "all-projects", false, "summarise every project whose store is in the PostgreSQL database (--store, VEXLOOM_STORE_URL or store.url)")
	return cmd
}

type statusOutput struct {
	Schema   string         `json:"schema"`
	Project  string         `json:"project"`
	Store    string         `json:"store"`
	Branches []branchStatus `json:"branches"`
	Triages  map[string]int `json:"triages"`
	// Advisories counts the project's own advisories (triages about the
	// project itself, which no scan finds).
	Advisories  int      `json:"advisories"`
	NeedsPerson []string `json:"needs_person"`
	// Releases are the tracked releases (releases.go).
	Releases []releaseStatus `json:"releases"`
}

type branchStatus struct {
	Branch     string    `json:"branch"`
	Commit     string    `json:"commit"`
	Scanned    time.Time `json:"scanned"`
	Database   string    `json:"database"`
	Findings   int       `json:"findings"`
	VEXVersion int       `json:"vex_version"`
	VEXFile    string    `json:"vex_file,omitempty"`
	// Triages on the branch by where they stand there: needing a person,
	// decided, decided and in the branch's VEX.
	Open      int `json:"open"`
	Assessed  int `json:"assessed"`
	Published int `json:"published"`
	// OldestOpen is since when the longest-waiting triage on the branch has
	// needed a person, and OldestOpenDays how many days that is.
	OldestOpen     *time.Time `json:"oldest_open"`
	OldestOpenDays int        `json:"oldest_open_days,omitempty"`
	// Failing is set while the branch's scans fail: since the first failed
	// attempt after its last complete scan (whose commit, findings and
	// VEX the other fields still show), why the latest one failed, at
	// which commit, and how many attempts failed.
	Failing *branchFailing `json:"failing,omitempty"`
}

type branchFailing struct {
	Since    time.Time `json:"since"`
	Reason   string    `json:"reason"`
	Commit   string    `json:"commit"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts"`
}

func (p *project) status(cmd *cobra.Command, g *globals) (*statusOutput, error) {
	ctx := cmd.Context()
	maintained, err := p.maintained(ctx)
	if err != nil {
		return nil, err
	}
	scans, err := p.store.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	st := &statusOutput{
		Schema: schemaBase + "status/v1", Project: p.cfg.Project.Module, Store: p.store.Location(),
		Branches: []branchStatus{}, Triages: map[string]int{"open": 0, "assessed": 0, "published": 0, "closed": 0},
		NeedsPerson: []string{},
	}
	failing, err := p.store.FailingBranches(ctx)
	if err != nil {
		return nil, err
	}
	// A branch whose every scan failed has no complete scan to be known
	// by; it is listed all the same.
	listed := slices.Clone(maintained)
	for b := range failing {
		if !slices.Contains(listed, b) && p.configuredBranch(b) {
			listed = append(listed, b)
		}
	}
	sort.Strings(listed)
	for _, b := range listed {
		bs := branchStatus{Branch: b}
		if sc := scans[b]; sc != nil {
			fs, err := p.store.Findings(ctx, sc.ID)
			if err != nil {
				return nil, err
			}
			bs.Commit, bs.Scanned, bs.Database, bs.Findings = sc.Commit, sc.At.UTC(), sc.DBSource+"@"+sc.DBVersion, len(fs)
		}
		if f := failing[b]; f != nil {
			bs.Failing = &branchFailing{Since: f.Since.UTC(), Reason: f.Latest.Reason, Commit: f.Latest.Commit, At: f.Latest.At.UTC(), Attempts: f.Attempts}
		}
		if d, err := p.store.LatestDocument(ctx, b); err == nil {
			bs.VEXVersion = d.Version
			bs.VEXFile = filepath.Join(p.vexDir(), triage.DocumentFileName(b))
		}
		st.Branches = append(st.Branches, bs)
	}
	views, err := triage.Views(ctx, p.store, maintained)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, b := range st.Branches {
		index[b.Branch] = i
	}
	now := g.now()
	for _, v := range views {
		for _, b := range v.Branches {
			i, ok := index[b.Branch]
			if !ok {
				continue
			}
			bs := &st.Branches[i]
			switch {
			case b.NeedsPerson():
				bs.Open++
				since := waitingSince(v, b)
				if bs.OldestOpen == nil || since.Before(*bs.OldestOpen) {
					t := since.UTC()
					bs.OldestOpen = &t
					bs.OldestOpenDays = int(now.Sub(since).Hours() / 24)
				}
			case b.Decision != nil && b.PublishedDecision == b.Decision.Seq:
				bs.Published++
			default:
				bs.Assessed++
			}
		}
		if p.isAdvisory(v) {
			st.Advisories++
			continue
		}
		st.Triages[string(v.State)]++
		if v.State == triage.Open {
			st.NeedsPerson = append(st.NeedsPerson, fmt.Sprintf("%s %s in %s (%s)", v.ID, v.Name(), v.Dependency, branchSummary(v)))
		}
	}
	sort.Strings(st.NeedsPerson)
	if st.Releases, err = p.releaseStatuses(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// configuredBranch reports whether b matches the project's branch names
// and patterns.
func (p *project) configuredBranch(b string) bool {
	return branch.MatchAny(p.cfg.Branches, b)
}

// isAdvisory reports whether a triage is one of the project's own
// advisories: about the project's module, which no scan of the project
// finds, with statements from an advisory.
func (p *project) isAdvisory(v triage.View) bool {
	if v.Dependency != p.cfg.Project.Module || len(v.Branches) > 0 {
		return false
	}
	for _, ev := range v.Events {
		if ev.Source == string(assess.SourceAdvisory) {
			return true
		}
	}
	return false
}

// waitingSince is when a triage started needing a person on a branch: its
// first observation there, or the decision that stopped holding.
func waitingSince(v triage.View, b triage.BranchState) time.Time {
	since := v.Since
	for _, ev := range v.Events {
		if ev.Kind == store.KindObserved && slices.Contains(ev.Branches, b.Branch) {
			if since.IsZero() || ev.At.Before(since) {
				since = ev.At
			}
			break
		}
	}
	if b.Flagged && b.Decision != nil && b.Decision.At.After(since) {
		since = b.Decision.At
	}
	return since
}
