package monocloud

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Session is a signed-in user's session as stored in the session cookie (or
// in the SessionStore). Its JSON shape is that of MonoCloud's JavaScript
// SDK sessions.
type Session struct {
	// User holds the ID token claims (minus FilteredIDTokenClaims) overlaid
	// with the userinfo claims.
	User             User   `json:"user"`
	IDToken          string `json:"idToken,omitempty"`
	RefreshToken     string `json:"refreshToken,omitempty"`
	AuthorizedScopes string `json:"authorizedScopes,omitempty"`
	// AuthorizedResources are the resource indicators requested at sign-in;
	// GetTokens refreshes tokens only for these.
	AuthorizedResources string        `json:"authorizedResources,omitempty"`
	AccessTokens        []AccessToken `json:"accessTokens,omitempty"`
	// Extra holds application data, typically set by OnSessionCreating.
	Extra map[string]any `json:"extra,omitempty"`
}

// subject returns the session's user ID: the user's sub claim, or the ID
// token's when the user no longer holds it (FilteredIDTokenClaims,
// UpdateSession).
func (s *Session) subject() string { return subject(s.User, s.IDToken) }

// subject returns user's sub claim, or idToken's.
func subject(user User, idToken string) string {
	if sub := user.Subject(); sub != "" {
		return sub
	}
	return unverifiedClaim(idToken, "sub")
}

// AccessToken is one access token kept in the session. A session holds one
// per resource and scope set it was issued for.
type AccessToken struct {
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiration int64  `json:"accessTokenExpiration"` // unix seconds; 0 when unknown (see Tokens)
	Scopes                string `json:"scopes"`                // granted
	Resource              string `json:"resource,omitempty"`
	RequestedScopes       string `json:"requestedScopes,omitempty"`
}

// clone returns a deep copy of s, so a caller may change anything in it
// without touching s (decoded sessions are shared between requests).
func (s *Session) clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	c.User = deepCopyMap(s.User)
	if c.User == nil {
		c.User = User{}
	}
	c.AccessTokens = slices.Clone(s.AccessTokens)
	c.Extra = deepCopyMap(s.Extra)
	return &c
}

// deepCopyMap copies a JSON-shaped map, with its nested maps and slices.
func deepCopyMap[M ~map[string]any](m M) M {
	if m == nil {
		return nil
	}
	c := make(M, len(m))
	for k, v := range m {
		c[k] = deepCopyValue(v)
	}
	return c
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepCopyValue(e)
		}
		return c
	}
	return v
}

// Lifetime is the timing of a session, as kept in its cookie.
type Lifetime struct {
	Created time.Time
	Updated time.Time
	// Expires is when the session ends unless it slides further.
	Expires time.Time
}

// SessionStore keeps sessions server-side; the session cookie then holds only
// a random key and the lifetime. Its methods return an error only for a
// failure of the store itself. Implementations must be safe for concurrent
// use.
type SessionStore interface {
	// Get returns the session kept under key, or (nil, nil) when there is
	// none (unknown or expired).
	Get(ctx context.Context, key string) (*Session, error)
	// Set keeps s under key, replacing the session kept there; the store
	// should drop it at lifetime.Expires.
	Set(ctx context.Context, key string, s *Session, lifetime Lifetime) error
	// Delete removes the session kept under key; deleting an unknown key
	// is not an error.
	Delete(ctx context.Context, key string) error
}

// SessionLocker is implemented by a SessionStore shared by several
// instances of an application to make token refreshes exactly-once across
// them: GetTokens holds the session's lock while it re-reads the session,
// refreshes and saves it, so an instance never presents a refresh token
// that another one has already rotated.
type SessionLocker interface {
	// LockSession blocks until it holds the lock of the session key or ctx
	// ends; unlock releases it. Locks must expire on their own (a crashed
	// holder), after more than three times ResponseTimeout: a refresh may
	// call the token, JWKS and userinfo endpoints while it holds the lock.
	LockSession(ctx context.Context, key string) (unlock func(), err error)
}

// Session returns the session of ctx's request (served under AuthMiddleware
// or Handler), or ErrNoSession. It reflects changes made earlier in the
// same request. The result is a copy: change it with UpdateSession.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	st := c.reqState(ctx)
	if st == nil {
		return nil, ErrNoRequestContext
	}
	return st.sessionCopy(ctx)
}

// SessionWithResponse is Session for an explicit request and response; a
// sliding session's renewed cookie is written to w.
func (c *Client) SessionWithResponse(w http.ResponseWriter, r *http.Request) (*Session, error) {
	var s *Session
	err := c.withResponse(w, r, func(st *requestState) (err error) {
		s, err = st.sessionCopy(r.Context())
		return err
	})
	return s, err
}

func (st *requestState) sessionCopy(ctx context.Context) (*Session, error) {
	sc, err := st.lookup(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	return sc.Session.clone(), nil
}

// UpdateSession replaces the content of the session of ctx's request,
// keeping its creation time; the cookie is re-written. It returns
// ErrNoSession when there is no session to update.
func (c *Client) UpdateSession(ctx context.Context, s *Session) error {
	st := c.reqState(ctx)
	if st == nil {
		return ErrNoRequestContext
	}
	return st.update(ctx, s.clone())
}

// UpdateSessionWithResponse is UpdateSession for an explicit request and
// response.
func (c *Client) UpdateSessionWithResponse(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.withResponse(w, r, func(st *requestState) error {
		return st.update(r.Context(), s.clone())
	})
}

// DestroySession ends the session of ctx's request locally (no call to the
// provider): the store entry is deleted and the cookies expired.
// It fails when the response header was already written, since the cookies
// can then no longer be expired, and with a *StoreError when the store
// fails: the session has then not ended.
func (c *Client) DestroySession(ctx context.Context) error {
	st := c.reqState(ctx)
	if st == nil {
		return ErrNoRequestContext
	}
	return st.destroy(ctx)
}

// DestroySessionWithResponse is DestroySession for an explicit request and
// response.
func (c *Client) DestroySessionWithResponse(w http.ResponseWriter, r *http.Request) error {
	return c.withResponse(w, r, func(st *requestState) error {
		return st.destroy(r.Context())
	})
}

// IsAuthenticated reports whether the request of ctx has a valid session. It is false when the
// SessionStore fails; Session tells that case apart (a *StoreError).
//
// It is false too when ctx holds no request state (a context not derived
// from r.Context() of a request under AuthMiddleware or Handler, such as
// gin's *gin.Context without ContextWithFallback): a mistake, which it logs
// at Error, with ErrNoRequestContext, the first time. Session returns that
// error instead.
func (c *Client) IsAuthenticated(ctx context.Context) bool {
	st := c.reqState(ctx)
	if st == nil {
		c.logNoRequestContext(ctx, "IsAuthenticated")
		return false
	}
	return st.signedIn(ctx, GroupCheck{})
}

// IsUserInGroup reports whether the signed-in user of ctx's request passes
// g. No groups means true; no session means false. Without request state
// in ctx it is false and logs the mistake, as IsAuthenticated does.
func (c *Client) IsUserInGroup(ctx context.Context, g GroupCheck) bool {
	st := c.reqState(ctx)
	if st == nil {
		c.logNoRequestContext(ctx, "IsUserInGroup")
		return false
	}
	return st.signedIn(ctx, g)
}

// signedIn reports whether the request has a valid session whose user
// passes g. The user claims are decoded only when g names groups.
func (st *requestState) signedIn(ctx context.Context, g GroupCheck) bool {
	sc, err := st.lookupEncoded(ctx)
	return err == nil && sc != nil && st.c.inGroup(sc, g)
}

// logNoRequestContext logs, at Error and once per Client, that helper was
// handed a context without request state: the helpers that answer a bool
// cannot return ErrNoRequestContext, and a silent false would read as
// "signed out" for every request.
func (c *Client) logNoRequestContext(ctx context.Context, helper string) {
	if c.noRequestContextLogged.Swap(true) {
		return
	}
	c.cfg.opts.Logger.LogAttrs(ctx, slog.LevelError, "monocloud: "+helper+" reports false: no request state in its context",
		slog.String("error", ErrNoRequestContext.Error()))
}

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
