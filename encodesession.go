package monocloud

import (
	"context"
	"net/http"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// EncodeSession starts a new session of c holding a copy of s, and returns
// the cookies that carry it, as the callback would set them: one cookie,
// or several chunks when the session is large. With Options.Session.Store
// the session is saved to the store and the cookie carries only its key.
// The session gets a new key and is created now (on the Client's clock),
// so it expires as a signed-in session would.
//
// It is meant for tests of protected handlers, which can send these cookies
// without a sign-in flow, and for applications that sign users in by other
// means. It checks only that s has a user with a sub claim: the tokens and
// claims are taken as they are, unverified.
func (c *Client) EncodeSession(ctx context.Context, s *Session) ([]*http.Cookie, error) {
	if s == nil || s.User.Subject() == "" {
		return nil, &ValidationError{Message: "EncodeSession: the session needs a user with a sub claim"}
	}
	sc := c.newSessionCookie(s.clone())
	value, err := c.encodeSession(ctx, sc)
	if err != nil {
		return nil, err
	}
	return c.sessionCookies(value, sc)
}

// newSessionCookie returns a new session holding s: a new key, so a
// session fixed before sign-in is never reused, created now.
func (c *Client) newSessionCookie(s *Session) *sessionCookie {
	now := c.now().Unix()
	sc := &sessionCookie{Key: newKey(), Lifetime: lifetime{C: now, U: now}, Session: s}
	sc.Lifetime.E = c.cfg.expiry(sc.Lifetime)
	return sc
}

// sessionCookies returns the cookies of session cookie value (of sc), split
// into chunks when it is too large for one.
func (c *Client) sessionCookies(value string, sc *sessionCookie) ([]*http.Cookie, error) {
	attrs := cookieAttributes(c.cfg.sessionCookie)
	if c.cfg.sessionCookie.persistent {
		attrs.Expires = time.Unix(sc.Lifetime.E, 0)
	}
	return cookie.Split(c.cfg.sessionCookie.name, value, attrs)
}
