package ghfake

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v75/github"
)

// tokenKind is what a token authenticates as.
type tokenKind int

const (
	personalToken     tokenKind = iota // a user (personal access token)
	installationToken                  // an app installation (acts as its bot)
)

// token is a credential the server accepts.
type token struct {
	login   string
	kind    tokenKind
	expires time.Time // zero: never
}

// user is an account the fake knows, created the first time a login is seen.
type user struct {
	id    int64
	login string
	bot   bool
}

// app is a GitHub App.
type app struct {
	id  int64
	pub *rsa.PublicKey
}

// installation is an installation of an app; its tokens act as login.
type installation struct {
	id    int64
	appID int64
	login string
	ttl   time.Duration
}

// maxJWTLifetime is how far in the future GitHub accepts an app JWT's exp.
const maxJWTLifetime = 10 * time.Minute

// AddToken makes token a valid credential for login (sent as
// "Authorization: Bearer <token>" or "token <token>").
func (s *Server) AddToken(tok, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userFor(login, false)
	s.tokens[tok] = &token{login: login, kind: personalToken}
}

// AddApp registers a GitHub App whose JWTs are signed by the private half of
// pub, installed as installationID; the installation's tokens act as login
// (e.g. "vexloom[bot]") and expire after ttl (GitHub: one hour).
func (s *Server) AddApp(appID int64, pub *rsa.PublicKey, installationID int64, login string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userFor(login, true)
	s.apps[appID] = &app{id: appID, pub: pub}
	s.insts[installationID] = &installation{id: installationID, appID: appID, login: login, ttl: ttl}
}

// userFor returns the account for login, creating it with the next ID.
func (s *Server) userFor(login string, bot bool) *user {
	key := strings.ToLower(login)
	if u, ok := s.users[key]; ok {
		return u
	}
	u := &user{id: s.nextID("user"), login: login, bot: bot || strings.HasSuffix(login, "[bot]")}
	s.users[key] = u
	return u
}

// ghUser is the simple-user object GitHub embeds in issues, comments and
// reactions.
func (s *Server) ghUser(c *call, login string) *github.User {
	u := s.userFor(login, false)
	typ := "User"
	if u.bot {
		typ = "Bot"
	}
	return &github.User{
		Login:     github.Ptr(u.login),
		ID:        github.Ptr(u.id),
		NodeID:    github.Ptr(nodeID("U", u.id)),
		URL:       github.Ptr(c.apiBase + "users/" + u.login),
		HTMLURL:   github.Ptr(s.URL() + u.login),
		Type:      github.Ptr(typ),
		SiteAdmin: github.Ptr(false),
	}
}

// nodeID is a deterministic GraphQL node ID.
func nodeID(kind string, id int64) string { return fmt.Sprintf("%s_fake%d", kind, id) }

// bearer extracts the credential of an Authorization header
// ("Bearer X" or "token X", scheme case-insensitive).
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return strings.TrimSpace(cred)
	}
	return ""
}

// authenticate resolves c's token to a login; a missing, unknown or expired
// token is GitHub's 401 "Bad credentials".
func (s *Server) authenticate(c *call) *reply {
	t, ok := s.tokens[bearer(c.r)]
	if !ok || (!t.expires.IsZero() && !s.clock().Before(t.expires)) {
		if c.r.Header.Get("Authorization") == "" {
			return s.fail(http.StatusUnauthorized, "Requires authentication")
		}
		return s.fail(http.StatusUnauthorized, "Bad credentials")
	}
	c.login = t.login
	c.kind = t.kind
	return nil
}

// getUser is GET /user. Installation tokens are not users: GitHub answers
// them with 403.
func (s *Server) getUser(c *call) *reply {
	if c.kind == installationToken {
		return s.fail(http.StatusForbidden, "Resource not accessible by integration")
	}
	u := s.ghUser(c, c.login)
	u.ReposURL = github.Ptr(c.apiBase + "users/" + c.login + "/repos")
	return s.json(http.StatusOK, u)
}

// JWT errors, worded as GitHub words them.
const (
	jwtUndecodable = "A JSON web token could not be decoded"
	jwtExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	jwtTooLong     = "'Expiration time' claim ('exp') is too far in the future"
	jwtIssuedLater = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	jwtNoIssuer    = "'Issuer' claim ('iss') must be an Integer"
)

// createInstallationToken is POST /app/installations/{id}/access_tokens,
// authenticated with an RS256 JWT signed by the app's private key:
// iss = app ID, iat in the past, exp at most 10 minutes ahead.
func (s *Server) createInstallationToken(c *call) *reply {
	raw := bearer(c.r)
	if raw == "" {
		return s.fail(http.StatusUnauthorized, "A JSON web token could not be decoded")
	}
	now := s.clock()
	var appRec *app
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		id, err := issuer(claims)
		if err != nil {
			return nil, err
		}
		a, ok := s.apps[id]
		if !ok {
			return nil, errUnknownApp
		}
		appRec = a
		return a.pub, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case errors.Is(err, errNoIssuer):
		return s.fail(http.StatusUnauthorized, jwtNoIssuer)
	case errors.Is(err, errUnknownApp):
		return s.fail(http.StatusUnauthorized, "Integration not found")
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims["exp"] == nil:
		return s.fail(http.StatusUnauthorized, jwtExpired)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return s.fail(http.StatusUnauthorized, jwtIssuedLater)
	case err != nil:
		return s.fail(http.StatusUnauthorized, jwtUndecodable)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return s.fail(http.StatusUnauthorized, jwtExpired)
	}
	if exp.Sub(now) > maxJWTLifetime {
		return s.fail(http.StatusUnauthorized, jwtTooLong)
	}
	if iat, err := claims.GetIssuedAt(); err != nil || iat == nil {
		return s.fail(http.StatusUnauthorized, jwtIssuedLater)
	}

	instID, err := strconv.ParseInt(c.vars["id"], 10, 64)
	inst, ok := s.insts[instID]
	if err != nil || !ok || inst.appID != appRec.id {
		return s.fail(http.StatusNotFound, "Not Found")
	}
	// Minting a token is charged to the installation like any request.
	if rep := s.checkRate(c); rep != nil {
		return rep
	}
	c.charged = true
	tok := fmt.Sprintf("ghs_fake%d_%d", inst.id, s.nextID("installation-token"))
	expires := now.Add(inst.ttl)
	s.tokens[tok] = &token{login: inst.login, kind: installationToken, expires: expires}
	// go-github's InstallationToken lacks repository_selection, which
	// GitHub sends.
	return s.json(http.StatusCreated, struct {
		*github.InstallationToken
		RepositorySelection string `json:"repository_selection"`
	}{
		InstallationToken: &github.InstallationToken{
			Token:     github.Ptr(tok),
			ExpiresAt: &github.Timestamp{Time: expires},
			Permissions: &github.InstallationPermissions{
				Issues:       github.Ptr("write"),
				Metadata:     github.Ptr("read"),
				Attestations: github.Ptr("write"),
			},
		},
		RepositorySelection: "all",
	})
}

var (
	errNoIssuer   = errors.New("jwt has no integer issuer")
	errUnknownApp = errors.New("jwt issuer is not a known app")
)

// issuer reads the app ID from a JWT's iss claim, which GitHub accepts as a
// number or a decimal string.
func issuer(claims jwt.MapClaims) (int64, error) {
	switch v := claims["iss"].(type) {
	case float64:
		if v == float64(int64(v)) {
			return int64(v), nil
		}
	case string:
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			return id, nil
		}
	}
	return 0, errNoIssuer
}
