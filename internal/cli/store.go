package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/store"
)

func init() { commands = append(commands, newStoreCmd) }

func newStoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Migrate the store, or copy its history to another store",
		Long: `The store keeps vexloom's whole history: the embedded SQLite store in a
directory (the default), or a PostgreSQL database that many runners and
projects share (store.url, --store postgres://… or VEXLOOM_STORE_URL).`,
	}
	cmd.AddCommand(newStoreMigrateCmd(g), newStoreCopyCmd(g))
	return cmd
}

func newStoreMigrateCmd(g *globals) *cobra.Command {
	var pf projectFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the project's store to this vexloom's schema",
		Long: `Create the project's store if needed and apply the migrations it lacks, each
in its own transaction. Every command does this when it opens the store;
migrate does only that, so it can run once before runners start. A store
written by a newer vexloom is refused and left as it is.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := pf.open(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			v, err := p.store.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: schema version %d\n", p.store.Location(), v)
			return nil
		},
	}
	pf.register(cmd)
	return cmd
}

func newStoreCopyCmd(g *globals) *cobra.Command {
	var from, to, project, cfgPath string
	cmd := &cobra.Command{
		Use:   "copy --from LOCATION --to LOCATION",
		Short: "Copy a store's whole history into an empty store, and verify it",
		Long: `Copy every row of every table, in the order it was recorded and with its
sequence numbers, from one store into an empty one — SQLite to PostgreSQL or
back — then verify the copy (the number of rows of each table and a SHA-256
over the ordered history) before committing it. A copy that does not verify
writes nothing.

A location is sqlite:DIR (or a directory) or a PostgreSQL URL. A PostgreSQL
store belongs to a project: --project, else project.module of the project
file.

  vexloom store copy --from sqlite:.vexloom --to postgres://vexloom@db/vexloom`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageError("store copy needs --from and --to")
			}
			ctx := cmd.Context()
			if project == "" && (store.IsURL(from) || store.IsURL(to)) {
				pf := projectFlags{config: cfgPath}
				cfg, err := pf.loadConfig()
				if err != nil {
					return fmt.Errorf("a PostgreSQL store needs the project (--project, or a project file): %w", err)
				}
				project = cfg.Project.Module
			}
			src, err := openStoreAt(ctx, g, from, project, false)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := openStoreAt(ctx, g, to, project, true)
			if err != nil {
				return err
			}
			defer dst.Close()
			d, err := store.Copy(ctx, src, dst)
			if err != nil {
				return fmt.Errorf("copying %s to %s: %w", src.Location(), dst.Location(), err)
			}
			rows := 0
			for _, n := range d.Rows {
				rows += n
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %d events (%d rows in %d tables, schema version %d) from %s to %s\nverified: %s\n",
				d.Events(), rows, len(d.Rows), d.SchemaVersion, src.Location(), dst.Location(), d.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the store to copy: sqlite:DIR or postgres://…")
	cmd.Flags().StringVar(&to, "to", "", "the empty store to copy into: sqlite:DIR or postgres://…")
	cmd.Flags().StringVar(&project, "project", "", "the project's module path, which names its PostgreSQL schema (default: project.module of the project file)")
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "project `file` (default: "+config.FileName+" in the current directory or a parent)")
	return cmd
}

// openStoreAt opens the store at a location given on the command line. A
// source must exist.
func openStoreAt(ctx context.Context, g *globals, loc, project string, create bool) (*store.Store, error) {
	if store.IsURL(loc) {
		return store.OpenPostgres(ctx, loc, store.Options{Project: project, MustExist: !create, Now: g.now})
	}
	dir := strings.TrimPrefix(loc, "sqlite:")
	if !create {
		return store.OpenExisting(ctx, dir, g.now)
	}
	return store.Open(ctx, dir, g.now)
}
