package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/fixture"
)

// `vexloom demo --serve` ends by serving the demo's dashboard on a free
// local port and printing its address.
func TestDemoServesTheDashboard(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	fixture.Database(t, cache)
	useSharedScans(t, cache)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	errb := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		g := &globals{now: func() time.Time { return fixture.Now }, env: append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")}
		done <- run(ctx, g, []string{"--cache-dir", cache, "demo", "--serve", "--dir", filepath.Join(t.TempDir(), "demo")}, strings.NewReader(""), out, errb)
	}()
	addr := regexp.MustCompile(`dashboard: (http://127\.0\.0\.1:\d+/)`)
	deadline := time.Now().Add(5 * time.Minute)
	var url string
	for url == "" {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited %d before serving:\n%s\n%s", code, out, errb)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no dashboard address:\n%s", out)
		}
	}
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				body = buf.Bytes()
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Contains(body, []byte(`id="matrix"`)) || !bytes.Contains(body, []byte("CVE-2024-45338")) {
		t.Errorf("the demo's dashboard at %s:\n%s", url, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo --serve exited %d after an interrupt:\n%s", code, errb)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo --serve did not stop")
	}
}
