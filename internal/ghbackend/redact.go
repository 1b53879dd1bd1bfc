package ghbackend

import (
	"bytes"
	"io"
	"net/http"

	"github.com/vexloom/vexloom/internal/redact"
)

// Redacted replaces every secret the transport finds.
const Redacted = redact.Mark

// maxErrorBody bounds the body of an error response kept for the caller;
// GitHub's error documents are a few hundred bytes.
const maxErrorBody = 64 << 10

// scrub makes a response safe to turn into an error: an error status's
// body (which go-github copies into its errors) loses every credential,
// and the response points at the caller's request, not the authenticated
// copy the transport sent.
func (t *Transport) scrub(req *http.Request, resp *http.Response) {
	resp.Request = req
	if resp.StatusCode < 400 {
		return
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		data = append(data, "\n(reading the rest of the body: "...)
		data = append(data, err.Error()...)
		data = append(data, ')')
	}
	clean := []byte(t.Redact(string(data)))
	resp.Body = io.NopCloser(bytes.NewReader(clean))
	resp.ContentLength = int64(len(clean))
	resp.Header.Del("Content-Length")
}
