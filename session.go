package monocloud

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
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
// a random key and the lifetime. Get returns (nil, nil) for an unknown or
// expired key; an error is only for a failure of the store itself.
// Implementations must be safe for concurrent use and should expire entries
// at lifetime.Expires.
type SessionStore interface {
	Get(ctx context.Context, key string) (*Session, error)
	Set(ctx context.Context, key string, s *Session, lifetime Lifetime) error
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

// sessionCookie is the encrypted content of the session cookie.
type sessionCookie struct {
	Key      string   `json:"key"`
	Lifetime lifetime `json:"lifetime"`
	Session  *Session `json:"session,omitempty"`
	// Version identifies, with a store, the refresh token of the session
	// the browser last received, so a request carrying a cookie from before
	// a refresh is recognised.
	Version string `json:"v,omitempty"`
	// user, when set, holds the user claims of Session, whose User is then
	// nil: UnmarshalBinary leaves them encoded. Read them with userClaims,
	// or take withUser; whoever gives sc another Session clears it.
	user *encodedUser
}

// tokenVersion returns a short digest of a refresh token.
func tokenVersion(refreshToken string) string {
	if refreshToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(refreshToken))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// lifetime is Lifetime in unix seconds.
type lifetime struct {
	C int64 `json:"c"`
	U int64 `json:"u"`
	E int64 `json:"e,omitempty"`
}

func (l lifetime) public() Lifetime {
	return Lifetime{Created: time.Unix(l.C, 0), Updated: time.Unix(l.U, 0), Expires: time.Unix(l.E, 0)}
}

// expiry returns when a session with lifetime l ends: Duration after its
// creation, or after its last update when sliding, never beyond
// MaximumDuration after creation.
func (c *config) expiry(l lifetime) int64 {
	limit := l.C + int64(c.maxDuration/time.Second)
	if !c.sliding {
		return min(l.C+int64(c.duration/time.Second), limit)
	}
	return min(l.U+int64(c.duration/time.Second), limit)
}

// valid reports whether a session with lifetime l is still alive at now.
// Duration applies to non-persistent cookies too.
func (c *config) valid(l lifetime, now int64) bool {
	return l.C <= now+60 && c.expiry(l) >= now
}
