package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

// projectsOutput is `status --all-projects --format json`.
type projectsOutput struct {
	Schema   string          `json:"schema"`
	Store    string          `json:"store"`
	Projects []projectStatus `json:"projects"`
}

type projectStatus struct {
	Project  string         `json:"project"`
	Schema   string         `json:"db_schema"`
	Branches []string       `json:"branches"`
	Failing  []string       `json:"failing"`
	Triages  map[string]int `json:"triages"`
	Events   int            `json:"events"`
}

// statusAllProjects summarises every project whose store is in the
// PostgreSQL database at storeURL, from the stores alone: the branches
// scanned, those failing, and the triages by state.
func statusAllProjects(ctx context.Context, g *globals, storeURL string, w io.Writer, format string) error {
	projects, err := store.Projects(ctx, storeURL)
	if err != nil {
		return err
	}
	out := projectsOutput{Schema: schemaBase + "projects/v1", Store: store.RedactURL(storeURL), Projects: []projectStatus{}}
	for _, pr := range projects {
		ps, err := summariseProject(ctx, g, storeURL, pr.Module)
		if err != nil {
			return fmt.Errorf("project %s: %w", pr.Module, err)
		}
		ps.Schema = pr.Schema
		out.Projects = append(out.Projects, ps)
	}
	if format == "json" {
		return jsonx.Write(w, out)
	}
	fmt.Fprintf(w, "%d %s in %s\n\n", len(out.Projects), plural(len(out.Projects), "project"), termtext.Line(out.Store))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tBRANCHES\tFAILING\tOPEN\tASSESSED\tPUBLISHED\tCLOSED\tEVENTS")
	for _, p := range out.Projects {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", termtext.Args(p.Project, len(p.Branches), len(p.Failing), p.Triages["open"], p.Triages["assessed"], p.Triages["published"], p.Triages["closed"], p.Events)...)
	}
	return tw.Flush()
}

func summariseProject(ctx context.Context, g *globals, storeURL, module string) (projectStatus, error) {
	ps := projectStatus{Project: module, Branches: []string{}, Failing: []string{}, Triages: map[string]int{"open": 0, "assessed": 0, "published": 0, "closed": 0}}
	st, err := store.OpenPostgres(ctx, storeURL, store.Options{Project: module, MustExist: true, Now: g.now})
	if err != nil {
		return ps, err
	}
	defer st.Close()
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return ps, err
	}
	for b := range scans {
		ps.Branches = append(ps.Branches, b)
	}
	sort.Strings(ps.Branches)
	failing, err := st.FailingBranches(ctx)
	if err != nil {
		return ps, err
	}
	for b := range failing {
		ps.Failing = append(ps.Failing, b)
	}
	sort.Strings(ps.Failing)
	views, err := triage.ListViews(ctx, st, ps.Branches)
	if err != nil {
		return ps, err
	}
	for _, v := range views {
		ps.Triages[string(v.State)]++
	}
	ps.Events, err = st.EventCount(ctx)
	return ps, err
}

// fleetURL is the PostgreSQL database `status --all-projects` reads:
// --store, else $VEXLOOM_STORE_URL, else store.url of the project file if
// there is one.
func (f *projectFlags) fleetURL(g *globals) (string, error) {
	if f.store != "" {
		if store.IsURL(f.store) {
			return f.store, nil
		}
		return "", usageError("--all-projects needs a PostgreSQL store, not the directory %s", f.store)
	}
	if v := g.getenv("VEXLOOM_STORE_URL"); v != "" {
		return v, nil
	}
	if cfg, err := f.loadConfig(); err == nil && cfg.Store.URL != "" {
		return cfg.Store.URL, nil
	}
	return "", usageError("--all-projects needs a PostgreSQL store: --store postgres://…, VEXLOOM_STORE_URL or store.url")
}
