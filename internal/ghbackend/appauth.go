package ghbackend

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// App JWT and installation token timing, after GitHub's documentation: a
// JWT lives at most 10 minutes and its iat may be set a minute early for
// clock drift; an installation token lives an hour and is replaced
// refreshMargin before it expires.
const (
	jwtLifetime   = 9 * time.Minute
	jwtBackdate   = time.Minute
	refreshMargin = 5 * time.Minute
	// maxTokenResponse bounds the installation token response.
	maxTokenResponse = 1 << 20
)

// appAuth authenticates as a GitHub App installation.
type appAuth struct {
	appID, installationID int64
	key                   *rsa.PrivateKey

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newAppAuth(appID, installationID int64, pemKey []byte) (*appAuth, error) {
	if appID <= 0 || installationID <= 0 {
		return nil, fmt.Errorf("%w: a GitHub App needs its app ID and installation ID", ErrAuth)
	}
	if len(pemKey) == 0 {
		return nil, fmt.Errorf("%w: a GitHub App needs its private key", ErrAuth)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey)
	if err != nil {
		// The key's bytes never go into the message.
		return nil, fmt.Errorf("%w: the GitHub App private key is not a PEM RSA key", ErrAuth)
	}
	return &appAuth{appID: appID, installationID: installationID, key: key}, nil
}

func (a *appAuth) invalidate() {
	a.mu.Lock()
	a.token = ""
	a.mu.Unlock()
}

// appJWT signs a JWT that authenticates as the app itself.
func (a *appAuth) appJWT(now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.appID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
}

// installationToken returns a valid installation token, minting a new one
// when there is none, it expires within refreshMargin, or force is set.
// Concurrent callers wait for one mint.
func (a *appAuth) installationToken(ctx context.Context, t *Transport, force bool) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := t.now()
	if !force && a.token != "" && now.Add(refreshMargin).Before(a.expires) {
		return a.token, nil
	}
	signed, err := a.appJWT(now)
	if err != nil {
		return "", fmt.Errorf("%w: signing the app JWT: %v", ErrAuth, err)
	}
	t.secrets.Add(signed)
	u := t.apiBase.JoinPath("app", "installations", strconv.FormatInt(a.installationID, 10), "access_tokens")
	// The request carries its own credential, so the transport sends it
	// as it is; no conditional-request value applies to it.
	req, err := http.NewRequestWithContext(context.WithValue(ctx, etagKey{}, ""), http.MethodPost, u.String(), http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+signed)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := t.roundTrip(req)
	if err != nil {
		return "", fmt.Errorf("getting a GitHub App installation token: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return "", fmt.Errorf("getting a GitHub App installation token: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(data, &e)
		return "", fmt.Errorf("%w: getting an installation token for app %d, installation %d: %s: %s", ErrAuth, a.appID, a.installationID, resp.Status, t.Redact(e.Message))
	}
	var tok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.Token == "" {
		return "", fmt.Errorf("%w: the installation token response holds no token", ErrAuth)
	}
	t.secrets.Add(tok.Token)
	a.token = tok.Token
	a.expires = tok.ExpiresAt
	if a.expires.IsZero() {
		a.expires = now.Add(time.Hour)
	}
	t.log.Debug("got a GitHub App installation token", "installation", a.installationID, "expires", a.expires)
	return a.token, nil
}
