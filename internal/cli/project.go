package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
)

// projectFlags are the flags of every command that works on a project: its
// configuration file and its store.
type projectFlags struct {
	config string
	store  string
}

func (f *projectFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "project `file` (default: "+config.FileName+" in the current directory or a parent)")
	cmd.Flags().StringVar(&f.store, "store", "", "the store: a `directory` or sqlite:DIR, or a PostgreSQL URL postgres://… (default: $VEXLOOM_STORE_URL, else store.url, else store.path of the project file, "+config.DefaultStorePath+" next to it)")
}

// project is a loaded project file with its store.
type project struct {
	cfg   *config.Config
	store *store.Store
	// kept is what the last update did for the tracked releases.
	kept *keptReleases
}

func (p *project) Close() error {
	if p.store == nil {
		return nil
	}
	return p.store.Close()
}

// loadConfig reads the project file named by --config, or found from the
// current directory upwards.
func (f *projectFlags) loadConfig() (*config.Config, error) {
	p := f.config
	if p == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		found, err := config.Find(wd)
		if err != nil {
			if errors.Is(err, config.ErrNotFound) {
				return nil, fmt.Errorf("%w in %s or its parents; run `vexloom init` to create one, or pass --config", config.ErrNotFound, wd)
			}
			return nil, err
		}
		p = found
	}
	return config.Load(p)
}

// storeDir is where the project's store lives: with PostgreSQL, the
// directory of the files kept beside the database.
func (f *projectFlags) storeDir(cfg *config.Config) string {
	if f.store != "" && !store.IsURL(f.store) {
		return strings.TrimPrefix(f.store, "sqlite:")
	}
	if cfg.Store.Path != "" {
		return cfg.Resolve(cfg.Store.Path)
	}
	return cfg.Resolve(config.DefaultStorePath)
}

// storeURL is the PostgreSQL database of the project's store, if it has
// one: --store, else $VEXLOOM_STORE_URL, else store.url. A --store
// directory wins over both.
func (f *projectFlags) storeURL(g *globals, cfg *config.Config) string {
	if f.store != "" {
		if store.IsURL(f.store) {
			return f.store
		}
		return ""
	}
	if v := g.getenv("VEXLOOM_STORE_URL"); v != "" {
		return v
	}
	return cfg.Store.URL
}

// open loads the project file and opens its store. A read-only command
// refuses to create a store where none exists.
func (f *projectFlags) open(ctx context.Context, g *globals, create bool) (*project, error) {
	cfg, err := f.loadConfig()
	if err != nil {
		return nil, err
	}
	dir := f.storeDir(cfg)
	if u := f.storeURL(g, cfg); u != "" {
		st, err := store.OpenPostgres(ctx, u, store.Options{Project: cfg.Project.Module, Dir: dir, MustExist: !create, Now: g.now})
		if err != nil {
			return nil, err
		}
		return &project{cfg: cfg, store: st}, nil
	}
	openStore := store.Open
	if !create {
		openStore = store.OpenExisting
	}
	st, err := openStore(ctx, dir, g.now)
	if errors.Is(err, store.ErrNoStore) {
		return nil, fmt.Errorf("%w in %s yet: run `vexloom update` first", store.ErrNoStore, dir)
	} else if err != nil {
		return nil, err
	}
	return &project{cfg: cfg, store: st}, nil
}

// maintained returns the branches the project maintains as the store knows
// them: those with a recorded scan that match the configured patterns. It
// needs no network, unlike matching against the repository.
func (p *project) maintained(ctx context.Context) ([]string, error) {
	scans, err := p.store.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for b := range scans {
		if branch.MatchAny(p.cfg.Branches, b) {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out, nil
}

// vexDir is where branch documents are written.
func (p *project) vexDir() string {
	if p.cfg.VEX.Dir != "" {
		return p.cfg.Resolve(p.cfg.VEX.Dir)
	}
	return p.cfg.Resolve(config.DefaultVEXDir)
}

// author is the author of the project's documents.
func (p *project) author() string {
	if p.cfg.Project.Author != "" {
		return p.cfg.Project.Author
	}
	return p.cfg.Project.Module + " maintainers"
}

// openRepository opens the project repository through the cache's mirror.
func (p *project) openRepository(ctx context.Context, g *globals, prog *progress.Reporter) (*source.Repository, error) {
	cacheDir, err := g.cache()
	if err != nil {
		return nil, err
	}
	return source.OpenRepository(ctx, p.cfg.RepositorySpec(), cacheDir, prog)
}

// policy reads the OWNERS files: from owners.path when configured, else
// from the repository's default branch. Files that cannot be parsed are
// reported on stderr and left out; they never widen who may decide.
func (p *project) policy(ctx context.Context, repo *source.Repository, prog *progress.Reporter) (*owners.Policy, error) {
	var (
		tree     *owners.Tree
		warnings []owners.Warning
		err      error
	)
	if p.cfg.Owners.Path != "" {
		tree, warnings, err = owners.LoadDir(p.cfg.Resolve(p.cfg.Owners.Path))
		if err != nil {
			return nil, fmt.Errorf("reading OWNERS files: %w", err)
		}
	} else {
		branch, err := repo.DefaultBranch(ctx)
		if err != nil {
			return nil, err
		}
		c, err := repo.ResolveBranch(ctx, branch)
		if err != nil {
			return nil, err
		}
		files, err := repo.Files(ctx, c.Hash)
		if err != nil {
			return nil, err
		}
		tree, warnings, err = owners.Load(files, func(f string) ([]byte, error) { return repo.ReadFile(ctx, c.Hash, f) })
		if err != nil {
			return nil, fmt.Errorf("reading OWNERS files on %s: %w", branch, err)
		}
	}
	for _, w := range warnings {
		prog.Printf("warning: %s (left out: it gives no one a say)", termtext.Line(w.Error()))
	}
	if tree == nil || len(tree.Dirs()) == 0 {
		if len(warnings) > 0 {
			prog.Printf("warning: no readable OWNERS file: only the security team can decide triages until it is fixed")
		} else {
			prog.Printf("warning: no OWNERS files found: only the security team can decide triages")
		}
	}
	return &owners.Policy{Tree: tree, SecurityTeam: slices.Clone(p.cfg.Owners.SecurityTeam)}, nil
}

// scanner opens the project's vulnerability database (fetching it from the
// configured source when the cache has none) and returns it with a scanner
// configured as the project file says.
func (p *project) scanner(ctx context.Context, g *globals, prog *progress.Reporter) (scan.Database, *scan.Scanner, error) {
	cacheDir, err := g.cache()
	if err != nil {
		return scan.Database{}, nil, err
	}
	var source string
	if p.cfg.Database.Source != "" {
		source = p.cfg.DatabaseSpec()
	}
	db, err := openDBFrom(ctx, g, cacheDir, source, prog)
	if err != nil {
		return scan.Database{}, nil, err
	}
	sdb := scanDatabase(db)
	return sdb, scan.NewScanner(scan.Options{
		DB:        sdb,
		Cache:     p.scanCache(cacheDir),
		Progress:  prog,
		Env:       g.env,
		Modules:   p.cfg.Scan.Modules,
		Patterns:  p.cfg.Scan.Packages,
		Tags:      p.cfg.Scan.Tags,
		GoVersion: p.cfg.Scan.GoVersion,
	}), nil
}

// scanCache is where scan results are kept: the cache directory, and the
// store when runners on other machines share it.
func (p *project) scanCache(cacheDir string) *scan.Cache {
	c := &scan.Cache{Dir: filepath.Join(cacheDir, "scans")}
	if p.store != nil && p.store.Shared() {
		c.Shared = p.store
	}
	return c
}
