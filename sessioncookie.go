package monocloud

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/wire"
)

// sessionCookie is the encrypted content of the session cookie.
type sessionCookie struct {
	Key      string
	Lifetime lifetime
	Session  *Session
	// Version identifies, with a store, the refresh token of the session
	// the browser last received, so a request carrying a cookie from before
	// a refresh is recognised.
	Version string
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
	C int64 // Created
	U int64 // Updated
	E int64 // Expires
}

func (l lifetime) public() Lifetime {
	return Lifetime{Created: time.Unix(l.C, 0), Updated: time.Unix(l.U, 0), Expires: time.Unix(l.E, 0)}
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
	attrs := cookieAttributes(c.cfg.opts.Session.Cookie)
	if *c.cfg.opts.Session.Cookie.Persistent {
		attrs.Expires = time.Unix(sc.Lifetime.E, 0)
	}
	return cookie.Split(c.cfg.opts.Session.Cookie.Name, value, attrs)
}

// decodeSession decodes a session cookie value, through the cache of
// decoded values.
func (c *Client) decodeSession(value string) (sessionCookie, bool, error) {
	now, key := c.now(), c.sessions.key(value)
	if sc, stale, ok := c.sessions.get(key, now); ok {
		return sc, stale, nil
	}
	var sc sessionCookie
	stale, err := c.sessionCodec.Decode(c.cfg.opts.Session.Cookie.Name, value, &sc)
	if err != nil {
		return sessionCookie{}, false, err
	}
	if sc.Key == "" {
		return sessionCookie{}, false, errors.New("monocloud: session cookie without key")
	}
	c.sessions.put(key, sc, stale, now)
	return sc, stale, nil
}

// encodeSaved returns the session cookie value of payload, what the
// session backend's save returned.
func (c *Client) encodeSaved(payload *sessionCookie) (string, error) {
	value, err := c.sessionCodec.Encode(c.cfg.opts.Session.Cookie.Name, payload)
	if err != nil {
		return "", err
	}
	// The browser sends this value back next: spare that request the decode.
	c.sessions.put(c.sessions.key(value), *payload, false, c.now())
	return value, nil
}

// cookieAttributes returns the attributes of resolved cookie options o.
func cookieAttributes(o CookieOptions) cookie.Attributes {
	return cookie.Attributes{Path: o.Path, Domain: o.Domain, HTTPOnly: *o.HTTPOnly, Secure: *o.Secure, SameSite: o.SameSite}
}

// newKey returns a random session key.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sessionWireVersion is the first byte of a sessionCookie's binary
// encoding; a change of its layout needs a new one.
const sessionWireVersion = 1

// minAccessTokenSize is the fewest bytes of the structure an access token
// takes in the binary encoding: a Token's kind and length, a Varint and
// three string lengths.
const minAccessTokenSize = 6

// MarshalBinary encodes sc for the session cookie (see internal/wire):
//
//	version    sessionWireVersion
//	key        Token
//	lifetime   c, u and e, each a Varint
//	version    Str, the refresh token version
//	session    Bool, whether there is one; if so:
//	  user                 Map
//	  ID token             Token
//	  refresh token        Token
//	  authorized scopes, authorized resources
//	                       each a Str
//	  access tokens        a Uvarint count, then for each: the token, a Token;
//	                       its expiration, a Varint; its scopes, resource
//	                       and requested scopes, each a Str
//	  extra                Map
//
// Claims of types other than JSON's decode as their JSON encoding would
// have, as they did when the cookie held JSON.
func (sc *sessionCookie) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Byte(sessionWireVersion)
	w.Token(sc.Key)
	w.Varint(sc.Lifetime.C)
	w.Varint(sc.Lifetime.U)
	w.Varint(sc.Lifetime.E)
	w.Str(sc.Version)
	s := sc.Session
	w.Bool(s != nil)
	if s != nil {
		if sc.user != nil {
			w.Raw(sc.user.raw)
		} else {
			w.Map(s.User)
		}
		w.Token(s.IDToken)
		w.Token(s.RefreshToken)
		w.Str(s.AuthorizedScopes)
		w.Str(s.AuthorizedResources)
		w.Uvarint(uint64(len(s.AccessTokens)))
		for _, t := range s.AccessTokens {
			w.Token(t.AccessToken)
			w.Varint(t.AccessTokenExpiration)
			w.Str(t.Scopes)
			w.Str(t.Resource)
			w.Str(t.RequestedScopes)
		}
		w.Map(s.Extra)
	}
	p, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("monocloud: encoding the session cookie: %w", err)
	}
	return p, nil
}

// UnmarshalBinary decodes into sc what MarshalBinary encoded, leaving sc
// unchanged on error. It checks the structure, not the content: a session
// without a key, for one, decodes. The user claims are checked but stay
// encoded, in sc.user, until something needs them.
func (sc *sessionCookie) UnmarshalBinary(p []byte) error {
	r := wire.NewReader(p)
	if v := r.Byte(); v != sessionWireVersion {
		return fmt.Errorf("monocloud: session cookie format %d: %w", v, wire.ErrMalformed)
	}
	var c sessionCookie
	c.Key = r.Token()
	c.Lifetime = lifetime{C: r.Varint(), U: r.Varint(), E: r.Varint()}
	c.Version = r.Str()
	if r.Bool() {
		c.user = &encodedUser{raw: r.RawMap()}
		s := &Session{
			IDToken:             r.Token(),
			RefreshToken:        r.Token(),
			AuthorizedScopes:    r.Str(),
			AuthorizedResources: r.Str(),
		}
		if n := r.Count(minAccessTokenSize); n > 0 {
			s.AccessTokens = make([]AccessToken, n)
			for i := range s.AccessTokens {
				s.AccessTokens[i] = AccessToken{
					AccessToken:           r.Token(),
					AccessTokenExpiration: r.Varint(),
					Scopes:                r.Str(),
					Resource:              r.Str(),
					RequestedScopes:       r.Str(),
				}
			}
		}
		s.Extra = r.Map()
		c.Session = s
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("monocloud: decoding the session cookie: %w", err)
	}
	*sc = c
	return nil
}

// encodedUser holds the user claims of a session decoded from its cookie,
// still encoded: most requests read only the session's key, lifetime and
// tokens, and decoding the claims would be most of a decode's allocations.
// Decoded sessions share it through the cache, so the claims of a cookie
// value are decoded at most once, into a User shared by the requests that
// carry it, which must not be modified.
type encodedUser struct {
	raw  wire.Raw
	once sync.Once
	user User
}

// decode returns the claims, decoding them on first use; an empty User,
// never nil, for none.
func (u *encodedUser) decode() User {
	u.once.Do(func() {
		if u.user = u.raw.Map(); u.user == nil {
			u.user = User{}
		}
	})
	return u.user
}

// userClaims returns the user claims of sc's session, decoding them if
// still encoded. They may be shared with other requests: do not modify
// them.
func (sc *sessionCookie) userClaims() User {
	if sc.user != nil {
		return sc.user.decode()
	}
	return sc.Session.User
}

// withUser returns sc with the user claims of its session decoded: sc
// itself when they are not encoded, else a copy. Its Session may be shared
// with other requests: copy it with clone before changing it.
func (sc *sessionCookie) withUser() *sessionCookie {
	if sc == nil || sc.user == nil {
		return sc
	}
	s := *sc.Session
	s.User = sc.user.decode()
	d := *sc
	d.Session, d.user = &s, nil
	return &d
}

// Decoded session cookies are cached by a hash of their encoded value, so a
// user's requests after the first skip the MAC check, decryption and
// decoding, and pay a hash of the value and one map lookup. Only values
// that decoded successfully are put, and lifetime and ended-session checks
// still run on every request.
//
// The hash is not cryptographic: two maphash hashes with seeds drawn for
// each cache, 128 bits together, cost a fraction of SHA-256 on a 2.5 KB
// value, which would be most of a cached request's time. It is enough here
// because a collision only helps whoever already holds the value collided
// with: to be served a cached session, a forged value must hash like that
// session's cookie, which the forger would have to know, and whose MAC
// makes it unguessable. The seeds are secret and per process, so hashes
// cannot be predicted either; by chance, two users' values collide with
// probability below 2^-100.
const (
	sessionCacheSize = 4096
	sessionCacheTTL  = 5 * time.Minute
)

// sessionCache maps session cookie values, by their valueKey, to their
// decoded content: at most sessionCacheSize of them, each for
// sessionCacheTTL, the oldest dropped first when full. It keeps no value.
type sessionCache struct {
	seeds   [2]maphash.Seed
	entries *expiring.Map[valueKey, cachedSession]
}

// valueKey identifies a cookie value in a sessionCache.
type valueKey [2]uint64

type cachedSession struct {
	sc    sessionCookie
	stale bool // decoded with a previous secret
}

func newSessionCache() *sessionCache {
	return &sessionCache{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		entries: expiring.New[valueKey, cachedSession](sessionCacheSize, sessionCacheTTL),
	}
}

// key returns the key of value in c.
func (c *sessionCache) key(value string) valueKey {
	return valueKey{maphash.Comparable(c.seeds[0], value), maphash.Comparable(c.seeds[1], value)}
}

// get returns a copy of the cookie decoded from the value of key k, if
// cached and fresh. The Session it points to is shared and must not be
// modified.
func (c *sessionCache) get(k valueKey, now time.Time) (sessionCookie, bool, bool) {
	e, ok := c.entries.Get(k, now)
	return e.sc, e.stale, ok
}

// put caches sc as the decoding of the value of key k.
func (c *sessionCache) put(k valueKey, sc sessionCookie, stale bool, now time.Time) {
	c.entries.Put(k, cachedSession{sc: sc, stale: stale}, now)
}
