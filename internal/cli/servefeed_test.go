package cli

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/config"
)

// getWithHost fetches url with a Host header of the client's choosing.
func getWithHost(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// The served feed never writes the request's Host header into its URLs:
// a forged Host is refused, the listening address is used, and
// VEXLOOM_FEED_URL, when set, is what clients are pointed at.
func TestServedFeedIgnoresHostHeader(t *testing.T) {
	p := newGitHubProject(t)
	p.update()
	const manifest = "/feed/.well-known/vex-repository.json"
	const forged = "attacker.example"

	s := p.serve(config.DefaultWebhookSecretEnv + "=x")
	for _, host := range []string{forged, forged + ":80", "LOCALHOST.attacker.example", "127.0.0.1:1"} {
		code, body := getWithHost(t, s.base+manifest, host)
		if code != http.StatusMisdirectedRequest || strings.Contains(body, "attacker") {
			t.Errorf("Host %q: %d\n%s", host, code, body)
		}
	}
	code, body := getWithHost(t, s.base+manifest, "")
	if code != http.StatusOK || !strings.Contains(body, strings.TrimPrefix(s.base, "http://")+"/feed/") {
		t.Errorf("the listening address: %d\n%s", code, body)
	}
	s.stop()

	t.Setenv("VEXLOOM_FEED_URL", "https://vex.example.org/feed")
	s = p.serve(config.DefaultWebhookSecretEnv + "=x")
	code, body = getWithHost(t, s.base+manifest, forged)
	if code != http.StatusOK || strings.Contains(body, forged) || !strings.Contains(body, "https://vex.example.org/feed/") {
		t.Errorf("with VEXLOOM_FEED_URL and a forged Host: %d\n%s", code, body)
	}
}
