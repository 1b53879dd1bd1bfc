package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/dashboard"
	"github.com/vexloom/vexloom/internal/ghbackend"
	"github.com/vexloom/vexloom/internal/owners"
)

// dashboardFlags are serve's flags for the dashboard.
type dashboardFlags struct {
	only     bool
	public   bool
	tokenEnv string
}

func (f *dashboardFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.only, "dashboard-only", false, "serve the dashboard (and the feed) without webhooks, on a machine that receives none")
	cmd.Flags().StringVar(&f.tokenEnv, "dashboard-token-env", "", "the environment `variable` holding the bearer token every dashboard request must carry (needed to listen beyond loopback)")
	cmd.Flags().BoolVar(&f.public, "dashboard-public", false, "serve the dashboard without a token on an address beyond loopback")
}

// dashboardHandler is the read-only dashboard of the served project,
// refused beyond loopback unless a token protects it or --dashboard-public
// says it may be public.
func (s *server) dashboardHandler(ln net.Listener, f dashboardFlags) (http.Handler, error) {
	token := ""
	if f.tokenEnv != "" {
		token = s.g.getenv(f.tokenEnv)
		if token == "" {
			return nil, fmt.Errorf("--dashboard-token-env names %s, which is not set", f.tokenEnv)
		}
	}
	if !isLoopback(ln.Addr()) && token == "" && !f.public {
		return nil, usageError("the dashboard would be served on %s, beyond loopback: protect it with --dashboard-token-env VAR, or pass --dashboard-public (or listen on 127.0.0.1)", ln.Addr())
	}
	pub, err := s.p.localPublished(s.g)
	if err != nil {
		return nil, err
	}
	opts := dashboard.Options{
		Store: s.p.store, Project: s.p.cfg.Project.Module, Branches: s.p.cfg.Branches, Published: pub,
		Policy: func() *owners.Policy { return s.policy.Load() }, Backend: string(s.p.cfg.Triage.Backend),
		Token: token, Now: time.Now, Logger: s.log,
	}
	switch {
	case s.backend != nil:
		opts.Link = s.backend.Link
	case s.p.cfg.Triage.Backend == config.BackendGitHub:
		// No webhooks, so no client: the issues the store recorded.
		repo := s.p.cfg.Triage.GitHub.Repository
		opts.Link = func(id string) string {
			url, _ := ghbackend.IssueLink(context.Background(), s.p.store, repo, id)
			return url
		}
	}
	d, err := dashboard.New(opts)
	if err != nil {
		return nil, err
	}
	// Derive the views before the first visitor asks.
	go func() {
		if err := d.Warm(context.Background()); err != nil {
			s.log.Warn("dashboard", "err", err)
		}
	}()
	return d, nil
}

// isLoopback reports whether a listener's address is on loopback only.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
