package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v75/github"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/ghbackend"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/webhook"
)

func init() { commands = append(commands, newServeCmd) }

// serveExtras are further endpoints `vexloom serve` mounts, each made for
// the open project: an http.ServeMux pattern ("/feed/") and its handler.
// Commands and features append to it from their own files.
var serveExtras []func(*project) (pattern string, h http.Handler)

// readyTimeout bounds the readiness check's store query.
const readyTimeout = 5 * time.Second

func newServeCmd(g *globals) *cobra.Command {
	var (
		pf    projectFlags
		addr  string
		api   string
		every time.Duration
		dash  dashboardFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboard, the VEX feed and GitHub webhooks (answers on triage issues applied within seconds)",
		Long: `Serve an HTTP endpoint for the GitHub webhooks of the triage repository
(issue_comment and issues events, at /webhook), with /healthz (liveness) and
/readyz (the store is open and the project file and OWNERS files loaded).

A maintainer's slash command on a triage issue is applied as it arrives:
checked against the OWNERS files, answered on the issue (a reaction, or a
reply saying why nothing was done), and the triage's state and labels
brought up to date. Publishing still happens in 'vexloom update', which
stays the source of truth and picks up anything a lost webhook missed;
--update-every runs it inside the server.

Deliveries must be signed with the webhook secret, read from the
environment variable named by triage.github.webhook_secret_env (default
` + config.DefaultWebhookSecretEnv + `); serve refuses to start without it. Deliveries
are deduplicated by their delivery ID. SIGINT or SIGTERM stops the server
after the requests in flight finish.

The read-only dashboard is served under / (the overview, the triage queue
and pages, releases, charts, and JSON under /api/v1/): on loopback by
default; beyond it only with a bearer token (--dashboard-token-env) or
--dashboard-public. --dashboard-only serves it (and the feed) without
webhooks.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if every < 0 {
				return usageError("--update-every must not be negative")
			}
			return runServe(cmd, g, &pf, addr, api, every, dash)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "`address` to listen on (host:port; beyond loopback the dashboard needs --dashboard-token-env or --dashboard-public)")
	dash.register(cmd)
	registerGitHubAPI(cmd, &api)
	cmd.Flags().DurationVar(&every, "update-every", 0, "also run the main job (vexloom update) at start and then every `duration` (0: never)")
	return cmd
}

// server is a running `vexloom serve`.
type server struct {
	g       *globals
	pf      *projectFlags
	p       *project
	log     *slog.Logger
	prog    *progress.Reporter
	backend *ghbackend.Backend
	policy  atomic.Pointer[owners.Policy]

	// mu serialises the handling of comments: each is read, applied,
	// answered and shown on its issue before the next.
	mu sync.Mutex
}

func runServe(cmd *cobra.Command, g *globals, pf *projectFlags, addr, api string, every time.Duration, dash dashboardFlags) error {
	ctx := cmd.Context()
	log := commandLogger(g, cmd)
	prog := g.progress(cmd)
	p, err := pf.open(ctx, g, true)
	if err != nil {
		return err
	}
	defer p.Close()
	s := &server{g: g, pf: pf, p: p, log: log, prog: prog}
	if err := s.loadPolicy(ctx); err != nil {
		return err
	}

	var hook http.Handler
	if p.cfg.Triage.Backend == config.BackendGitHub && !dash.only {
		env := p.cfg.Triage.GitHub.WebhookSecretEnv
		if env == "" {
			env = config.DefaultWebhookSecretEnv
		}
		secret := g.getenv(env)
		if secret == "" {
			return fmt.Errorf("no webhook secret: set %s (named by triage.github.webhook_secret_env) to the secret of the triage repository's webhook", env)
		}
		b, err := newGitHubBackend(ctx, g, p, api, log)
		if err != nil {
			return err
		}
		s.backend = b
		h, err := webhook.NewHandler(webhook.Options{
			Secret: []byte(secret), Store: p.store, Logger: log,
			OnIssueComment: s.onIssueComment,
			OnIssues:       s.onIssues,
		})
		if err != nil {
			return err
		}
		hook = h
	}
	extra := map[string]http.Handler{}
	for _, mk := range serveExtras {
		pattern, h := mk(p)
		if _, dup := extra[pattern]; dup {
			return fmt.Errorf("two endpoints for %q", pattern)
		}
		extra[pattern] = h
	}
	if hook == nil && len(extra) == 0 {
		return fmt.Errorf("nothing to serve: the triage backend of %s is %q; webhooks need triage.backend: github", p.cfg.Path, p.cfg.Triage.Backend)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	dh, err := s.dashboardHandler(ln, dash)
	if err != nil {
		ln.Close()
		return err
	}
	extra["/"] = dh
	var wg sync.WaitGroup
	if every > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.updateLoop(ctx, every)
		}()
	}
	err = webhook.Serve(ctx, webhook.ServerOptions{Listener: ln, Webhook: hook, Extra: extra, Ready: s.ready, Logger: log})
	wg.Wait()
	return err
}

// loadPolicy reads the OWNERS files the commands are checked against.
func (s *server) loadPolicy(ctx context.Context) error {
	repo, err := s.p.openRepository(ctx, s.g, s.prog)
	if err != nil {
		return err
	}
	pol, err := s.p.policy(ctx, repo, s.prog)
	if err != nil {
		return err
	}
	s.policy.Store(pol)
	return nil
}

// ready is the readiness check: the store answers and the OWNERS files
// are loaded (the project file was, or serve would not have started).
func (s *server) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := s.p.store.SchemaVersion(ctx); err != nil {
		return fmt.Errorf("the store: %w", err)
	}
	if s.policy.Load() == nil {
		return errors.New("the OWNERS files are not loaded")
	}
	return nil
}

// onIssueComment applies the commands of a comment on a triage issue.
func (s *server) onIssueComment(ctx context.Context, ev *github.IssueCommentEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok, err := s.backend.CommentFromEvent(ctx, ev)
	if err != nil || !ok {
		return err
	}
	maintained, err := s.p.maintained(ctx)
	if err != nil {
		return err
	}
	out, err := triage.Apply(ctx, s.p.store, triage.Rules{Policy: s.policy.Load(), Maintained: maintained}, c)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("a comment on an unknown triage", "triage", c.TriageID, "comment", c.URL)
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.backend.Answer(ctx, c, out); err != nil {
		return err
	}
	if _, err := triage.Reconcile(ctx, s.p.store, maintained, c.TriageID); err != nil {
		return err
	}
	// The issue shows the new state (its label) at once; publishing is
	// the update's.
	v, err := s.p.view(ctx, c.TriageID)
	if err != nil {
		return err
	}
	if err := s.backend.Sync(ctx, []triage.View{v}); err != nil {
		return err
	}
	s.log.Info("comment handled", "triage", c.TriageID, "author", c.Author, "outcome", out.Kind, "duplicate", out.Duplicate, "state", v.State)
	return nil
}

// onIssues notes an issue event; the next update reconciles what it
// changed (a reopened or edited issue).
func (s *server) onIssues(ctx context.Context, ev *github.IssuesEvent) error {
	s.log.Info("issue event", "action", ev.GetAction(), "issue", ev.GetIssue().GetNumber())
	return nil
}

// updateLoop runs the main job now and then every interval until ctx is
// done. Each run opens the store afresh, so its update lock is released
// between runs, and reloads the OWNERS files for the webhooks.
func (s *server) updateLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.update(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *server) update(ctx context.Context) {
	start := time.Now()
	p, err := s.pf.open(ctx, s.g, true)
	if err != nil {
		s.log.Error("update", "err", err)
		return
	}
	defer p.Close()
	sum, err := runUpdate(ctx, s.g, p, nil, s.prog)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("update", "err", err)
		}
		return
	}
	s.log.Info("update done", "branches", len(sum.Branches), "transitions", len(sum.Transitions), "comments", len(sum.Comments), "failures", len(sum.Failures), "duration", time.Since(start))
	for _, f := range sum.Failures {
		s.log.Warn("update: not scanned", "failure", f)
	}
	if err := s.loadPolicy(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reloading OWNERS", "err", err)
	}
}
