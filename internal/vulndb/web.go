package vulndb

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/vexloom/vexloom/internal/redact"
)

// statusError is a non-200 HTTP response. 404 and 410 match fs.ErrNotExist,
// as in the go command's GOPROXY protocol.
type statusError struct {
	url    string // redacted
	status string
	code   int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: %s", e.url, e.status) }

func (e *statusError) Is(target error) bool {
	return target == fs.ErrNotExist && (e.code == http.StatusNotFound || e.code == http.StatusGone)
}

// tooLargeError reports a response over its size bound.
type tooLargeError struct {
	url   string
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("GET %s: response is larger than %d bytes", e.url, e.limit)
}

// open starts a GET of rawURL (http, https or file). The caller closes the
// body. Errors name the URL with secrets redacted.
func open(ctx context.Context, client *http.Client, rawURL string) (io.ReadCloser, int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, 0, fmt.Errorf("invalid URL %q", redact.Location(rawURL))
	}
	red := redact.URL(u)
	if u.Scheme == "file" {
		p, err := fileURLPath(u)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %v", red, err)
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, &statusError{url: red, status: "404 Not Found", code: http.StatusNotFound}
		}
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			f.Close()
			return nil, 0, &statusError{url: red, status: "404 Not Found", code: http.StatusNotFound}
		}
		return f, fi.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %v", red, err)
	}
	req.Header.Set("User-Agent", "vexloom")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, fmt.Errorf("GET %s: %w", red, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, &statusError{url: red, status: resp.Status, code: resp.StatusCode}
	}
	return resp.Body, resp.ContentLength, nil
}

// get reads the whole body of rawURL, at most limit bytes.
func get(ctx context.Context, client *http.Client, rawURL string, limit int64) ([]byte, error) {
	body, _, err := open(ctx, client, rawURL)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("GET %s: %w", redact.Location(rawURL), err)
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{url: redact.Location(rawURL), limit: limit}
	}
	return b, nil
}

// getGzip reads a gzip-compressed body and returns it uncompressed, at most
// limit bytes after decompression.
func getGzip(ctx context.Context, client *http.Client, rawURL string, limit int64) ([]byte, error) {
	body, _, err := open(ctx, client, rawURL)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	zr, err := gzip.NewReader(io.LimitReader(body, 4*limit+1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("GET %s: not gzip: %v", redact.Location(rawURL), err)
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("GET %s: %w", redact.Location(rawURL), err)
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{url: redact.Location(rawURL), limit: limit}
	}
	return b, nil
}

// download copies rawURL to f (truncated first), at most limit bytes.
func download(ctx context.Context, client *http.Client, rawURL string, f *os.File, limit int64) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	body, size, err := open(ctx, client, rawURL)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if size > limit {
		return 0, &tooLargeError{url: redact.Location(rawURL), limit: limit}
	}
	n, err := io.Copy(f, io.LimitReader(body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("GET %s: %w", redact.Location(rawURL), err)
	}
	if n > limit {
		return 0, &tooLargeError{url: redact.Location(rawURL), limit: limit}
	}
	return n, nil
}

// joinURL appends a slash path to a base URL string.
// A query on the base (a token some proxies take) stays at the end.
func joinURL(base, p string) string {
	query := ""
	if i := strings.IndexByte(base, '?'); i >= 0 {
		base, query = base[:i], base[i:]
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(p, "/") + query
}
