// Package cli is vexloom's command line: one file per command, each a thin
// layer that parses flags, calls the stage packages and writes through the
// command's output streams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// globals are the flags every command shares.
type globals struct {
	cacheDir string
	quiet    bool
	// now is the clock; tests replace it.
	now func() time.Time
	// env is the process environment; tests replace it.
	env []string
	// sleep waits between retries of GitHub requests; nil means a timer.
	// Tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

func (g *globals) getenv(key string) string {
	for i := len(g.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(g.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// cache returns the cache directory: --cache-dir, else $VEXLOOM_CACHE,
// else the user cache directory.
func (g *globals) cache() (string, error) {
	if g.cacheDir != "" {
		return g.cacheDir, nil
	}
	if v := g.getenv("VEXLOOM_CACHE"); v != "" {
		return v, nil
	}
	return vulndb.DefaultCacheDir()
}

// progress returns the progress reporter for a command.
func (g *globals) progress(cmd *cobra.Command) *progress.Reporter {
	if g.quiet {
		return nil
	}
	return progress.New(cmd.ErrOrStderr())
}

// timestamp is the time documents are stamped with: SOURCE_DATE_EPOCH when
// set (reproducible builds), else the clock.
func (g *globals) timestamp() (time.Time, error) {
	if v := g.getenv("SOURCE_DATE_EPOCH"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return g.now().UTC(), nil
}

// commands are the commands that register themselves from their own file
// (in init), so that adding one touches no other file.
var commands []func(*globals) *cobra.Command

// NewRootCmd returns the vexloom command tree.
func NewRootCmd() *cobra.Command {
	return newRoot(&globals{now: time.Now, env: os.Environ()})
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "vexloom",
		Short: "Keep a living VEX feed for a Go project",
		Long: `vexloom keeps a living VEX feed for a Go project. It scans the maintained
branches for vulnerable dependencies, proves with govulncheck's reachability
analysis which ones cannot matter, asks maintainers about the rest through
slash commands, turns every answer into OpenVEX statements, assembles and
signs the VEX of each release with its binaries and images, publishes it
where Trivy and Grype find it, and gates releases on it.

Start with 'vexloom demo', or 'vexloom init' in a project.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Tool(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", "", "cache `directory` for the vulnerability database, repository mirrors and scan results (default $VEXLOOM_CACHE or the user cache directory)")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "do not show progress on stderr")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError("%v\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})
	root.AddCommand(
		newDBCmd(g),
		newScanCmd(g),
		newDemoCmd(g),
		newInitCmd(g),
		newUpdateCmd(g),
		newTriageCmd(g),
		newVEXCmd(g),
		newHistoryCmd(g),
		newStatusCmd(g),
	)
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	return root
}

// Main runs vexloom with args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, &globals{now: time.Now, env: os.Environ()}, args, stdin, stdout, stderr)
}

func run(ctx context.Context, g *globals, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, errAlreadyReported) {
		msg := err.Error()
		if errors.Is(err, context.Canceled) {
			msg = "interrupted"
		}
		if isUnknownCommand(err) {
			err = usageError("%s", msg)
		}
		fmt.Fprintf(stderr, "vexloom: %s\n", msg)
	}
	return ExitCode(err)
}

func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown shorthand flag") || strings.HasPrefix(err.Error(), "unknown flag")
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %d %s, got %d\nRun '%s --help' for usage.", cmd.CommandPath(), n, plural(n, "argument"), len(args), cmd.CommandPath())
		}
		return nil
	}
}

// maxArgs is cobra.MaximumNArgs with a usage exit code.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError("%s takes at most %d %s, got %d\nRun '%s --help' for usage.", cmd.CommandPath(), n, plural(n, "argument"), len(args), cmd.CommandPath())
		}
		return nil
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
