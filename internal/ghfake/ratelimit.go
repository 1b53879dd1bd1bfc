package ghfake

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// defaultRateLimit is GitHub's primary limit for an authenticated user.
const defaultRateLimit = 5000

// Documentation URLs GitHub puts in rate-limit errors; go-github recognises
// a secondary limit by the suffix of the second.
const (
	primaryLimitDoc   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	secondaryLimitDoc = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// rateState is the primary ("core") rate limit. The fake keeps one window
// for all tokens.
type rateState struct {
	limit int
	used  int
	reset time.Time
}

// roll starts a new window once the reset time has passed.
func (r *rateState) roll(now time.Time) {
	if !now.Before(r.reset) {
		r.used = 0
		r.reset = now.Add(time.Hour)
	}
}

func (r *rateState) remaining() int { return max(0, r.limit-r.used) }

// setHeaders writes the x-ratelimit-* headers GitHub puts on every response.
func (r *rateState) setHeaders(h http.Header) {
	h.Set("X-Ratelimit-Limit", strconv.Itoa(r.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(r.remaining()))
	h.Set("X-Ratelimit-Used", strconv.Itoa(r.used))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(r.reset.Unix(), 10))
	h.Set("X-Ratelimit-Resource", "core")
}

// secondaryState is a pending secondary ("abuse") limit.
type secondaryState struct {
	times      int
	retryAfter time.Duration
}

// SetRateLimit sets the primary rate limit window: limit requests, of which
// remaining are left until reset. With none left, requests get GitHub's 403
// "API rate limit exceeded" until reset.
func (s *Server) SetRateLimit(limit, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = rateState{limit: limit, used: max(0, limit-remaining), reset: reset.UTC().Truncate(time.Second)}
}

// SecondaryLimit makes the next times requests hit a secondary rate limit:
// 403 "You have exceeded a secondary rate limit" with Retry-After.
func (s *Server) SecondaryLimit(times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.second = secondaryState{times: times, retryAfter: retryAfter}
}

// takeSecondary consumes one pending secondary-limit response.
func (s *Server) takeSecondary() *reply {
	if s.second.times <= 0 {
		return nil
	}
	s.second.times--
	rep := s.failWith(http.StatusForbidden,
		"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		secondaryLimitDoc)
	secs := int(math.Ceil(s.second.retryAfter.Seconds()))
	rep.header.Set("Retry-After", strconv.Itoa(secs))
	s.rate.setHeaders(rep.header)
	return rep
}

// checkRate refuses an authenticated request once the window is used up.
func (s *Server) checkRate(c *call) *reply {
	if s.rate.remaining() > 0 {
		return nil
	}
	u := s.userFor(c.login, false)
	return s.failWith(http.StatusForbidden,
		fmt.Sprintf("API rate limit exceeded for user ID %d.", u.id), primaryLimitDoc)
}

// rateJSON is one resource of GET /rate_limit; reset is in epoch seconds
// (go-github's Rate would marshal it as an RFC 3339 string).
type rateJSON struct {
	Limit     int    `json:"limit"`
	Used      int    `json:"used"`
	Remaining int    `json:"remaining"`
	Reset     int64  `json:"reset"`
	Resource  string `json:"resource,omitempty"`
}

// getRateLimit is GET /rate_limit, which GitHub does not charge.
func (s *Server) getRateLimit(c *call) *reply {
	core := rateJSON{Limit: s.rate.limit, Used: s.rate.used, Remaining: s.rate.remaining(), Reset: s.rate.reset.Unix()}
	fresh := func(limit int) rateJSON {
		return rateJSON{Limit: limit, Remaining: limit, Reset: s.rate.reset.Unix()}
	}
	return s.json(http.StatusOK, struct {
		Resources map[string]rateJSON `json:"resources"`
		Rate      rateJSON            `json:"rate"`
	}{
		Resources: map[string]rateJSON{"core": core, "search": fresh(30), "graphql": fresh(5000), "integration_manifest": fresh(5000)},
		Rate:      core,
	})
}
