package monocloud

import (
	"fmt"
	"sync"

	"github.com/monocloud/auth-go/internal/wire"
)

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
