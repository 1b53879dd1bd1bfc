package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/publish"
)

func init() {
	serveExtras = append(serveExtras, func(p *project) (string, http.Handler) {
		return "/feed/", http.StripPrefix("/feed", p.feedHandler())
	})
}

// feedRefreshEvery bounds how stale the served feed can be: it is rebuilt
// from the local published store at most this often, on request.
const feedRefreshEvery = 10 * time.Second

// feedHandler serves the project's vex-repo feed, regenerated from the
// local published store as documents are published (by update, publish).
func (p *project) feedHandler() http.Handler {
	g := &globals{now: time.Now, env: os.Environ()}
	var (
		mu       sync.Mutex
		feed     *publish.Feed
		last     time.Time
		lastBase string
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The manifest points clients at the archive: at VEXLOOM_FEED_URL
		// when set (a proxy in front), else at the address the server
		// listens on. The request's Host header is the client's to write:
		// it never goes into the feed, and a request naming another host is
		// refused.
		base := g.getenv("VEXLOOM_FEED_URL")
		if base == "" {
			local, err := servedFeedURL(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusMisdirectedRequest)
				return
			}
			base = local
		}
		mu.Lock()
		if feed == nil || base != lastBase || time.Since(last) > feedRefreshEvery {
			lastBase = base
			f, err := p.feed(g, base)
			if err == nil {
				_, err = f.Refresh(r.Context())
			}
			if err != nil {
				mu.Unlock()
				http.Error(w, "the feed is not available: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			feed, last = f, time.Now()
		}
		h := feed.Handler()
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// errFeedHost: a feed request names a host the server does not answer for.
var errFeedHost = errors.New("host not served")

// servedFeedURL is the feed's URL at the local address a request came in
// on (127.0.0.1:8080, or localhost:8080 on a loopback address), when the
// request's Host is that address; otherwise errFeedHost: behind a proxy or
// a name, VEXLOOM_FEED_URL says where the feed is.
func servedFeedURL(r *http.Request) (string, error) {
	addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("%w: no local address for the request", errFeedHost)
	}
	scheme, defPort := "http", "80"
	if r.TLS != nil {
		scheme, defPort = "https", "443"
	}
	port := strconv.Itoa(tcp.Port)
	served := []string{net.JoinHostPort(tcp.IP.String(), port)}
	if tcp.IP.IsLoopback() {
		served = append(served, net.JoinHostPort("localhost", port))
	}
	host := strings.ToLower(r.Host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), defPort)
	}
	for _, h := range served {
		if host == h {
			return scheme + "://" + h + "/feed", nil
		}
	}
	return "", fmt.Errorf("%w: the feed is served as %s; set VEXLOOM_FEED_URL to the URL clients use", errFeedHost, strings.Join(served, " or "))
}
