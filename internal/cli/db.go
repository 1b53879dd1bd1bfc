package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// defaultDBSource is the vulnerability data vexloom uses unless told
// otherwise: the Go vulnerability database, through the Go module proxy.
const defaultDBSource = "golang.org/x/vulndb@latest"

func newDBCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the local copy of the vulnerability database",
		Long: `vexloom keeps a local copy of the Go vulnerability database, in the layout
govulncheck reads, in its cache directory. Scans read only that copy.`,
	}
	cmd.AddCommand(newDBUpdateCmd(g), newDBInfoCmd(g), newDBVerifyCmd(g))
	return cmd
}

func newDBUpdateCmd(g *globals) *cobra.Command {
	var src string
	var force bool
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Fetch or refresh the vulnerability database",
		Long: `Fetch the vulnerability database into the cache, or refresh it. Nothing is
rewritten when the source offers the version already there. A failed update
leaves the previous database as it was.

Sources (--source):
  golang.org/x/vulndb[@VERSION]   the Go vulnerability database through the Go
                                  module proxy (GOPROXY, GOSUMDB honoured); the
                                  default, at @latest
  DIR or dir:DIR                  a directory of OSV files
  FILE.zip or zip:FILE|URL        an OSV export such as osv.dev's Go all.zip
  https://HOST[/PATH]             a mirror in the layout of vuln.go.dev`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cacheDir, err := g.cache()
			if err != nil {
				return err
			}
			p := g.progress(cmd)
			res, err := updateDB(cmd.Context(), g, cacheDir, src, force, p)
			if err != nil {
				return err
			}
			m := res.DB.Meta
			if res.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "updated the vulnerability database to %s (%d entries, modified %s)\n", describeVersion(m), m.Entries, m.Modified.UTC().Format(time.RFC3339))
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "the vulnerability database is up to date: %s (%d entries)\n", describeVersion(m), m.Entries)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&src, "source", "", "where to fetch the database from (default "+defaultDBSource+", or the source of the current database)")
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even if the source version has not changed")
	return cmd
}

func updateDB(ctx context.Context, g *globals, cacheDir, src string, force bool, p *progress.Reporter) (*vulndb.UpdateResult, error) {
	if src == "" {
		src = defaultDBSource
		if cur, err := vulndb.Open(cacheDir); err == nil && cur.Meta.Source != "" {
			src = cur.Meta.Source
		}
	}
	source, err := vulndb.ParseSource(src, vulndb.Options{Env: g.env, Now: g.now})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return vulndb.Update(ctx, cacheDir, source, vulndb.UpdateOptions{Progress: p, Now: g.now, Force: force})
}

func describeVersion(m vulndb.Meta) string {
	return strings.TrimSuffix(m.Source, "@latest") + " " + m.Version
}

func newDBInfoCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show which vulnerability database is in the cache",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cacheDir, err := g.cache()
			if err != nil {
				return err
			}
			db, err := vulndb.Open(cacheDir)
			if err != nil {
				return err
			}
			m := db.Meta
			switch format {
			case "json":
				return jsonx.Write(cmd.OutOrStdout(), struct {
					vulndb.Meta
					Dir string `json:"dir"`
				}{m, db.Dir})
			case "table", "":
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "source:    %s (%s)\n", m.Source, m.Kind)
				fmt.Fprintf(w, "version:   %s (%s)\n", m.Version, m.VersionTime.UTC().Format(time.RFC3339))
				fmt.Fprintf(w, "modified:  %s\n", m.Modified.UTC().Format(time.RFC3339))
				fmt.Fprintf(w, "entries:   %d\n", m.Entries)
				fmt.Fprintf(w, "updated:   %s\n", m.Updated.UTC().Format(time.RFC3339))
				fmt.Fprintf(w, "digest:    %s\n", m.Digest)
				fmt.Fprintf(w, "directory: %s\n", db.Dir)
				return nil
			}
			return usageError("unknown format %q: want table or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newDBVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every file of the local database against its recorded digest",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cacheDir, err := g.cache()
			if err != nil {
				return err
			}
			db, err := vulndb.Open(cacheDir)
			if err != nil {
				return err
			}
			if err := db.Verify(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the vulnerability database %s is intact (%d entries)\n", describeVersion(db.Meta), db.Meta.Entries)
			return nil
		},
	}
}

// openDB opens the cached database, fetching the default one first if the
// cache has none yet.
func openDB(ctx context.Context, g *globals, cacheDir string, p *progress.Reporter) (*vulndb.DB, error) {
	return openDBFrom(ctx, g, cacheDir, "", p)
}

// openDBFrom opens the cached database, fetching it from source (default
// the Go vulnerability database) when the cache has none.
func openDBFrom(ctx context.Context, g *globals, cacheDir, source string, p *progress.Reporter) (*vulndb.DB, error) {
	db, err := vulndb.Open(cacheDir)
	if errors.Is(err, vulndb.ErrNoDatabase) {
		from := source
		if from == "" {
			from = defaultDBSource
		}
		p.Printf("no vulnerability database in the cache yet: fetching %s", from)
		res, err := updateDB(ctx, g, cacheDir, source, false, p)
		if err != nil {
			return nil, err
		}
		return res.DB, nil
	}
	return db, err
}

// scanDatabase describes db for scans and evidence.
func scanDatabase(db *vulndb.DB) scan.Database {
	src := strings.TrimSuffix(db.Meta.Source, "@latest")
	if db.Meta.Kind == "module" {
		if i := strings.LastIndex(src, "@"); i > 0 {
			src = src[:i]
		}
	}
	return scan.Database{
		URL:      db.URL(),
		Source:   src,
		Version:  db.Meta.Version,
		Digest:   db.Meta.Digest,
		Modified: db.Meta.Modified,
	}
}
