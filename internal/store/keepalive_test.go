package store

import (
	"context"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// The README's way of shortening how long a vanished machine's leases are
// held: the server's keepalive settings in the store's URL apply to
// vexloom's sessions.
func TestPostgresKeepaliveFromURL(t *testing.T) {
	t.Parallel()
	u := pgtest.Database(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s, err := OpenPostgres(context.Background(), u+sep+"tcp_keepalives_idle=60&tcp_keepalives_interval=10&tcp_keepalives_count=3", Options{Project: "example.com/app", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var idle, interval, count string
	if err := s.db.QueryRowContext(context.Background(), `SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')`).Scan(&idle, &interval, &count); err != nil {
		t.Fatal(err)
	}
	if idle != "60" || interval != "10" || count != "3" {
		t.Errorf("keepalive idle %s, interval %s, count %s; want 60, 10, 3 (seconds)", idle, interval, count)
	}
}
