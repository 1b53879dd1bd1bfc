package cli

import (
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"
)

// demoServe serves the demo project's dashboard on a free loopback port,
// printing its address, until the demo is interrupted.
func demoServe(cmd *cobra.Command, g *globals, cfg string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("finding a free local port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fmt.Fprintf(cmd.OutOrStdout(), "\ndashboard: http://%s/ (interrupt to stop)\n", addr)
	args := []string{"-q", "serve", "--dashboard-only", "--addr", addr, "--config", cfg}
	if g.cacheDir != "" {
		args = append([]string{"--cache-dir", g.cacheDir}, args...)
	}
	sub := *g
	var stderr strings.Builder
	if code := run(cmd.Context(), &sub, args, strings.NewReader(""), cmd.OutOrStdout(), &stderr); code != 0 {
		return fmt.Errorf("serving the dashboard: exit %d: %s", code, strings.TrimSpace(stderr.String()))
	}
	return nil
}
