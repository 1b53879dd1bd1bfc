package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Paths served by Serve besides the extras.
const (
	PathWebhook = "/webhook"
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
)

// Server timeouts. ReadHeaderTimeout stops slow-loris clients; the read
// timeout covers a body of DefaultMaxBody on a slow link; the write timeout
// leaves room for a callback (DefaultCallbackTimeout) and for feed files.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// DefaultShutdownTimeout bounds how long Serve waits for requests in
	// flight once its context is cancelled.
	DefaultShutdownTimeout = 30 * time.Second
)

// ServerOptions configure Serve.
type ServerOptions struct {
	// Addr is the address to listen on (":8080"); ignored when Listener
	// is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// Webhook handles PathWebhook; nil leaves it unrouted (404).
	Webhook http.Handler
	// Extra maps further http.ServeMux patterns ("/feed/") to handlers.
	// They may not take the paths above.
	Extra map[string]http.Handler
	// Ready reports whether the server can do its work (the store is
	// open, the configuration loaded); nil means always ready.
	Ready func() error
	// ShutdownTimeout bounds the wait for requests in flight
	// (DefaultShutdownTimeout when 0).
	ShutdownTimeout time.Duration
	// Logger receives a record per request and the server's own events
	// (nothing when nil).
	Logger *slog.Logger
}

// ErrShutdownTimeout is returned by Serve when requests were still running
// when the shutdown timeout ran out; they were cut off.
var ErrShutdownTimeout = errors.New("requests still running at the shutdown deadline")

// Serve serves the webhook, health, readiness and extra endpoints until
// ctx is cancelled, then stops accepting connections, lets the requests in
// flight finish (up to the shutdown timeout) and returns nil.
//
// PathHealth answers 200 while the process serves (liveness); PathReady
// answers 200 when Ready returns nil and 503 with its reason otherwise.
func Serve(ctx context.Context, opts ServerOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux, err := routes(opts)
	if err != nil {
		return err
	}
	ln := opts.Listener
	if ln == nil {
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", opts.Addr); err != nil {
			return fmt.Errorf("listening on %s: %w", opts.Addr, err)
		}
	}
	shutdownTimeout := opts.ShutdownTimeout
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}

	srv := &http.Server{
		Handler:           logRequests(log, mux),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Requests outlive the cancellation of ctx: it starts the
		// shutdown, which lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-served:
		// Serve stopped by itself: the listener failed.
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-served
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutting down: %w", ErrShutdownTimeout)
		}
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	log.Info("stopped")
	return nil
}

// routes builds the server's mux.
func routes(opts ServerOptions) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	// ServeMux panics on a malformed or conflicting pattern; that is a
	// configuration error here.
	defer func() {
		if r := recover(); r != nil {
			mux, err = nil, fmt.Errorf("routing: %v", r)
		}
	}()
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, r *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				answer(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		answer(w, http.StatusOK, "ready")
	})
	if opts.Webhook != nil {
		mux.Handle(PathWebhook, opts.Webhook)
	}
	for pattern, h := range opts.Extra {
		if h == nil {
			return nil, fmt.Errorf("routing %q: no handler", pattern)
		}
		p := pattern
		if _, rest, ok := strings.Cut(p, " "); ok {
			p = strings.TrimSpace(rest)
		}
		for _, own := range []string{PathWebhook, PathHealth, PathReady} {
			// A broader pattern ("/") does not take these: the
			// mux prefers the most specific.
			if strings.TrimSuffix(p, "/") == own {
				return nil, fmt.Errorf("routing %q: %s is served by vexloom", pattern, own)
			}
		}
		mux.Handle(pattern, h)
	}
	return mux, nil
}

// logRequests writes one structured record per request: method, path (not
// the query, which may carry tokens), status, size and duration.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", shortened(r.URL.Path)),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// recorder notes what a handler answered.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy's sendfile path for file-serving extras.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wroteHeader = true
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
