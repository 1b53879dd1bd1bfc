package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/source"
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
