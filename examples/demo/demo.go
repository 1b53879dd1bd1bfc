// Package demo makes the vexloom demo project: a small Go module in a git
// repository with two branches, so that every stage of vexloom can run end
// to end without any account or server.
//
// The module depends on three vulnerable modules, one per level of finding:
//
//   - golang.org/x/net: main calls html.Parse (called); release-1.0 only
//     imports golang.org/x/net/html for EscapeString (imported);
//   - github.com/dgrijalva/jwt-go: imported, but MapClaims.VerifyAudience is
//     never called (imported);
//   - golang.org/x/crypto: only golang.org/x/crypto/bcrypt is imported, the
//     vulnerable ssh packages are not (required). main has moved to v0.31.0,
//     which fixes GO-2024-3321; release-1.0 is still on v0.30.0.
package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/tools/txtar"
)

//go:embed release-1.0.txtar
var release10 []byte

//go:embed main.txtar
var mainBranch []byte

// Advisories holds the demo project's own (made-up) security advisories in
// OSV form: CVE-2026-0001 affects v1.0.0 and nothing after it.
//
//go:embed advisories/*.json
var Advisories embed.FS

// Module is the demo module's path.
const Module = "example.com/vexloom-demo"

// Branch names.
const (
	MainBranch    = "main"
	ReleaseBranch = "release-1.0"
	ReleaseTag    = "v1.0.0"
)

// Epoch is the fixed time the demo's commits are dated from, so that their
// hashes (and everything derived from them) are the same on every machine.
var Epoch = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// Repo is a created demo repository.
type Repo struct {
	Dir string
	// Commits by branch name.
	Commits map[string]string
}

// Files returns the files of a branch's content.
func Files(branch string) (map[string][]byte, error) {
	var data []byte
	switch branch {
	case MainBranch:
		data = mainBranch
	case ReleaseBranch:
		data = release10
	default:
		return nil, fmt.Errorf("the demo has no branch %q", branch)
	}
	ar := txtar.Parse(data)
	out := map[string][]byte{}
	for _, f := range ar.Files {
		out[f.Name] = f.Data
	}
	return out, nil
}

// Create makes the demo repository in dir, which must not exist or be
// empty: release-1.0 (tagged v1.0.0) and main, one commit ahead of it.
func Create(ctx context.Context, dir string) (*Repo, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, Commits: map[string]string{}}
	if err := r.git(ctx, Epoch, "init", "--quiet", "--initial-branch="+MainBranch); err != nil {
		return nil, err
	}
	if err := r.commit(ctx, ReleaseBranch, Epoch, "Release 1.0: greet the arguments as HTML"); err != nil {
		return nil, err
	}
	if err := r.git(ctx, Epoch, "tag", ReleaseTag); err != nil {
		return nil, err
	}
	if err := r.git(ctx, Epoch, "branch", ReleaseBranch); err != nil {
		return nil, err
	}
	r.Commits[ReleaseBranch] = r.Commits[MainBranch]
	if err := r.commit(ctx, MainBranch, Epoch.Add(24*time.Hour), "Greet the title of an HTML page; bump golang.org/x/crypto to v0.31.0"); err != nil {
		return nil, err
	}
	return r, nil
}

// commit replaces the work tree's files with a branch's content and commits
// them on the current branch.
func (r *Repo) commit(ctx context.Context, content string, at time.Time, msg string) error {
	files, err := Files(content)
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	if err := r.git(ctx, at, "add", "--all"); err != nil {
		return err
	}
	if err := r.git(ctx, at, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", msg); err != nil {
		return err
	}
	out, err := r.output(ctx, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	r.Commits[MainBranch] = string(bytes.TrimSpace(out))
	return nil
}

// Commit writes files (path → content; nil deletes) on branch and commits
// them, for tests and the demo's later steps.
func (r *Repo) Commit(ctx context.Context, branch string, at time.Time, msg string, files map[string][]byte) (string, error) {
	if err := r.git(ctx, at, "checkout", "--quiet", branch); err != nil {
		return "", err
	}
	for name, data := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if data == nil {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	if err := r.git(ctx, at, "add", "--all"); err != nil {
		return "", err
	}
	if err := r.git(ctx, at, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	out, err := r.output(ctx, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	h := string(bytes.TrimSpace(out))
	r.Commits[branch] = h
	return h, nil
}

// Tag tags a commit.
func (r *Repo) Tag(ctx context.Context, tag, commit string) error {
	return r.git(ctx, Epoch, "tag", tag, commit)
}

func (r *Repo) git(ctx context.Context, at time.Time, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = gitEnv(at)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

func (r *Repo) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = gitEnv(Epoch)
	return cmd.Output()
}

// gitEnv isolates git from the user's configuration and fixes identities
// and dates so the demo's commit hashes are reproducible.
func gitEnv(at time.Time) []string {
	date := at.UTC().Format(time.RFC3339)
	return append(os.Environ(),
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Demo Maintainer",
		"GIT_AUTHOR_EMAIL=maintainer@example.com",
		"GIT_COMMITTER_NAME=Demo Maintainer",
		"GIT_COMMITTER_EMAIL=maintainer@example.com",
		"GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_DATE="+date,
		"LC_ALL=C",
	)
}
