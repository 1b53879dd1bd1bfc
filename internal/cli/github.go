package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/ghbackend"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// githubAPIEnv names the environment variable that overrides the GitHub
// API URL of the project file, for the commands without --github-api
// (update).
const githubAPIEnv = "VEXLOOM_GITHUB_API"

// maxPrivateKeySize bounds a GitHub App's PEM private key file.
const maxPrivateKeySize = 64 << 10

// githubBackend returns the GitHub triage backend of a project, for
// `vexloom update`: the client from the project file (the API URL
// overridden by $VEXLOOM_GITHUB_API), with GITHUB_TOKEN or the configured
// GitHub App, its log records on the progress stream. At the end of the
// run (its Sync) it prints how many requests the run made.
func githubBackend(ctx context.Context, g *globals, p *project, prog *progress.Reporter) (triage.Backend, error) {
	b, err := newGitHubBackend(ctx, g, p, "", progressLogger(prog))
	if err != nil {
		return nil, err
	}
	return &countedBackend{Backend: b, prog: prog, store: p.store}, nil
}

// countedBackend reports the requests of a run when the run is done, and
// records in each triage's history when a person reopened its issue.
type countedBackend struct {
	*ghbackend.Backend
	prog  *progress.Reporter
	store *store.Store
}

// Sync is the last call of a run.
func (c *countedBackend) Sync(ctx context.Context, views []triage.View) error {
	for _, r := range c.Backend.Reopened() {
		ref := fmt.Sprintf("github-reopened:%s#%d@%s", r.TriageID, r.Issue, r.At.UTC().Format(time.RFC3339))
		first, err := c.store.Claim(ctx, ref, "reopened", "")
		if err != nil {
			return err
		}
		if !first {
			continue
		}
		data, _ := json.Marshal(map[string]any{"reopened_issue": r.Issue, "at": r.At.UTC()})
		if _, err := c.store.Append(ctx, store.Event{TriageID: r.TriageID, Kind: store.KindComment, Author: "github", Source: "github",
			Notes: fmt.Sprintf("issue #%d was reopened by a person", r.Issue), Data: data}); err != nil {
			return err
		}
	}
	err := c.Backend.Sync(ctx, views)
	n := c.Backend.Requests()
	c.prog.Printf("github: %d %s", n, plural(n, "request"))
	return err
}

// newGitHubBackend builds the GitHub backend of a project; api, when not
// empty, overrides the project file's API URL (--github-api).
func newGitHubBackend(ctx context.Context, g *globals, p *project, api string, log *slog.Logger) (*ghbackend.Backend, error) {
	cfg := p.cfg
	if cfg.Triage.Backend != config.BackendGitHub {
		return nil, fmt.Errorf("the triage backend of %s is %q, not github", cfg.Path, cfg.Triage.Backend)
	}
	gh, tr, err := githubClient(ctx, g, cfg, api, log)
	if err != nil {
		return nil, err
	}
	l := cfg.Triage.GitHub.Labels
	return ghbackend.New(ghbackend.Options{
		Client: gh, Transport: tr,
		Repo:       cfg.Triage.GitHub.Repository,
		Store:      p.store,
		Labels:     ghbackend.Labels{Open: l.Open, Assessed: l.Assessed, Published: l.Published, Closed: l.Closed},
		Logger:     log,
		VerifyHint: p.verifyHint,
		Now:        g.now,
	})
}

// githubClient returns a GitHub client for a project: the API URL from
// api (--github-api), else $VEXLOOM_GITHUB_API, else the project file;
// the configured GitHub App when it has one, else GITHUB_TOKEN.
//
// It is the one way vexloom's commands reach GitHub: its transport keeps
// every credential out of the errors and logs of every call. With a nil
// cfg (commands without a project) it uses GITHUB_TOKEN.
func githubClient(ctx context.Context, g *globals, cfg *config.Config, api string, log *slog.Logger) (*github.Client, *ghbackend.Transport, error) {
	if cfg == nil {
		cfg = &config.Config{}
	}
	gc := cfg.Triage.GitHub
	if api == "" {
		api = g.getenv(githubAPIEnv)
	}
	if api == "" {
		api = gc.API
	}
	opts := ghbackend.ClientOptions{API: api, Logger: log, Now: g.now, Sleep: g.sleep}
	switch {
	case gc.AppID > 0:
		key, err := readPrivateKey(cfg.Resolve(gc.PrivateKey))
		if err != nil {
			return nil, nil, err
		}
		opts.AppID, opts.InstallationID, opts.PrivateKey = gc.AppID, gc.InstallationID, key
	default:
		opts.Token = strings.TrimSpace(g.getenv("GITHUB_TOKEN"))
		if opts.Token == "" {
			where := config.FileName
			if cfg.Path != "" {
				where = cfg.Path
			}
			return nil, nil, fmt.Errorf("%w: no credentials: set GITHUB_TOKEN, or triage.github.app_id, installation_id and private_key in %s", ghbackend.ErrAuth, where)
		}
	}
	gh, tr, err := ghbackend.NewClient(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to GitHub: %w", err)
	}
	return gh, tr, nil
}

// readPrivateKey reads a GitHub App's PEM key file, bounded. Its content
// never goes into an error.
func readPrivateKey(file string) ([]byte, error) {
	data, err := readBounded(file, maxPrivateKeySize)
	if err != nil {
		return nil, fmt.Errorf("reading the GitHub App private key (triage.github.private_key): %w", err)
	}
	return data, nil
}

// verifyHint says where a triage's published statements can be fetched:
// its branches' documents in the VEX directory, and the command that
// prints them.
func (p *project) verifyHint(triageID string) string {
	dir := "the VEX directory"
	if rel, err := filepath.Rel(p.cfg.Dir, p.vexDir()); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		dir = filepath.ToSlash(rel)
	}
	v, err := p.view(context.Background(), triageID)
	if err != nil || len(v.Branches) == 0 {
		return fmt.Sprintf("the branch documents in `%s` of the project repository (`vexloom vex --branch BRANCH`)", dir)
	}
	var parts []string
	for _, b := range v.Branches {
		parts = append(parts, fmt.Sprintf("`%s` (`vexloom vex --branch %s`)", path.Join(dir, triage.DocumentFileName(b.Branch)), b.Branch))
	}
	return strings.Join(parts, ", ")
}

// progressLogger is a text logger whose records go to the progress
// stream, so --quiet silences them as it silences progress.
func progressLogger(prog *progress.Reporter) *slog.Logger {
	if prog == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(progressWriter{prog}, nil))
}

// progressWriter writes each log record as one progress line.
type progressWriter struct{ prog *progress.Reporter }

func (w progressWriter) Write(b []byte) (int, error) {
	w.prog.Printf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// commandLogger is the structured logger of a long-running command
// (serve, bridge): text records on the command's stderr, warnings and
// errors only with --quiet.
func commandLogger(g *globals, cmd *cobra.Command) *slog.Logger {
	level := slog.LevelInfo
	if g.quiet {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}

// registerGitHubAPI adds --github-api to a command.
func registerGitHubAPI(cmd *cobra.Command, api *string) {
	cmd.Flags().StringVar(api, "github-api", "", "GitHub API base `URL` (GitHub Enterprise Server or a test server; default: $"+githubAPIEnv+", else triage.github.api of the project file)")
}
