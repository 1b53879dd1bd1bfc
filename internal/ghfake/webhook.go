package ghfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
)

// Deliver POSTs a webhook delivery to url as GitHub does: the JSON payload
// (payload marshalled, or used as is when it is []byte or json.RawMessage)
// with X-GitHub-Event, X-GitHub-Delivery, and, when secret is not empty,
// X-Hub-Signature-256 (HMAC-SHA256 of the body, "sha256=<hex>") and the
// legacy X-Hub-Signature (HMAC-SHA1). The caller closes the response body.
func Deliver(ctx context.Context, url, secret, event, deliveryID string, payload any) (*http.Response, error) {
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	case json.RawMessage:
		body = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("marshalling %s payload: %w", event, err)
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building %s delivery: %w", event, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/ghfake")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, body))
		req.Header.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("delivering %s: %w", event, err)
	}
	return resp, nil
}

// sign is the hex HMAC of body under secret.
func sign(h func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
