package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/ghbackend"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// readyTimeout bounds the readiness check's store query.
const readyTimeout = 5 * time.Second

// server is a running `vexloom serve`.
type server struct {
	g         *globals
	pf        *projectFlags
	p         *project
	log       *slog.Logger
	prog      *progress.Reporter
	backend   *ghbackend.Backend
	approvers atomic.Pointer[owners.Approvers]

	// mu serialises the handling of comments: each is read, applied,
	// answered and shown on its issue before the next.
	mu sync.Mutex
}

// loadApprovers reads the OWNERS files the commands are checked against.
func (s *server) loadApprovers(ctx context.Context) error {
	repo, err := s.p.openRepository(ctx, s.g, s.prog)
	if err != nil {
		return err
	}
	pol, err := s.p.approvers(ctx, repo, s.prog)
	if err != nil {
		return err
	}
	s.approvers.Store(pol)
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
	if s.approvers.Load() == nil {
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
	out, _, err := triage.HandleComment(ctx, s.p.store, triage.Rules{Approvers: s.approvers.Load(), Maintained: maintained}, s.backend, c)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("a comment on an unknown triage", "triage", c.TriageID, "comment", c.URL)
		return nil
	}
	if err != nil {
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
	if err := s.loadApprovers(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reloading OWNERS", "err", err)
	}
}
