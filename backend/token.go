package backend

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"
	"unsafe"

	"github.com/monocloud/auth-go/backend/internal/claimsjson"
	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/provider"
)

// tokenKey is the SHA-256 of a token: caches and single-flight key tokens
// by it, never by the token.
type tokenKey [32]byte

// The token's bytes are hashed in place: converting a token of a kilobyte
// to a []byte would copy it on every request, and Sum256 neither keeps nor
// changes its input.
func keyOf(token string) tokenKey {
	return sha256.Sum256(bytesOf(token))
}

// bytesOf returns the bytes of s without copying them, for functions that
// read their input and keep none of it (hashes, decoders, verifiers). The
// result must never be written to.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Outcomes of EventTokenAccepted.
const (
	outcomeJWT                 = "jwt"
	outcomeJWTCached           = "jwt_cached"
	outcomeIntrospected        = "introspected"
	outcomeIntrospectionCached = "introspection_cached"
)

// claimsCache holds the grants of validated JWTs by token hash, bounded,
// each until the token's exp (and at most the cache's TTL).
type claimsCache struct {
	m *expiring.Map[tokenKey, *grant]
}

func newClaimsCache(size int, ttl time.Duration) *claimsCache {
	return &claimsCache{m: expiring.New[tokenKey, *grant](size, max(ttl, time.Second))}
}

func (cc *claimsCache) get(key tokenKey, now time.Time) (*grant, bool) {
	g, ok := cc.m.Get(key, now)
	if !ok || !now.Before(g.until) {
		return nil, false
	}
	return g, true
}

// isJWT reports whether token has the three segments of a JWS in compact
// serialization; anything else (an opaque token, a JWE) is introspected.
func isJWT(token string) bool {
	return strings.Count(token, ".") == 2
}

// tokenGrant returns the grant of a valid token (without the route's
// checks): a JWT validated locally, else introspected, either from cache.
// It checks the token as a token68 if parseAuthorization left that to it:
// before introspection, or once a JWT is not cached and does not validate
// (a JWT that parses is a token68, and one that does not fails before
// anything else is done).
func (c *Client) tokenGrant(ctx context.Context, cred credentials, key tokenKey) (*grant, string, *Error) {
	token := cred.token
	if !isJWT(token) || c.cfg.introspectJWT {
		if cred.token68Deferred && !isToken68(token) {
			return nil, "", malformedToken(cred.scheme)
		}
		return c.introspection.grant(ctx, token, key)
	}
	now := c.now()
	if g, ok := c.claims.get(key, now); ok {
		return g, outcomeJWTCached, nil
	}
	claims, err := c.validateJWT(ctx, token, now)
	if err != nil {
		if cred.token68Deferred && !isToken68(token) {
			return nil, "", malformedToken(cred.scheme)
		}
		return nil, "", err
	}
	until := now.Add(c.cfg.jwksTTL)
	if exp, ok := claims.ExpiresAt(); ok {
		until = exp.Add(c.cfg.clockTolerance - c.cfg.clockSkew)
	}
	g := newGrant(claims, c.cfg.groupsClaim, until)
	c.claims.m.Put(key, g, now)
	return g, outcomeJWT, nil
}

// validateJWT validates a JWT access token (RFC 9068 section 4): the
// algorithm allow-list, no crit, the typ policy, the signature by a key of
// the provider, and the claims at now.
func (c *Client) validateJWT(ctx context.Context, token string, now time.Time) (Claims, *Error) {
	jws, e := c.parseJWT(token)
	if e != nil {
		return nil, e
	}
	ks, issuer, e := c.keySet(ctx, now)
	if e != nil {
		return nil, e
	}
	keys, err := ks.KeysAt(ctx, now, jws.header.Kid, jws.header.Alg, provider.Untrusted)
	if err != nil {
		return nil, c.providerFailure(ctx, err)
	}
	if err := jws.verifyWith(keys); err != nil {
		return nil, refuse(ErrInvalidToken, "bad_signature", err)
	}
	c.jwt.remember(&jws)
	return c.jwtClaims(jws.payload, issuer, now)
}

// parseJWT parses a JWS in compact serialization signed with an allowed
// algorithm, and checks its header: no crit, and the typ policy.
func (c *Client) parseJWT(token string) (compactJWS, *Error) {
	jws, err := c.jwt.parse(token)
	if err != nil {
		return compactJWS{}, refuse(ErrInvalidToken, "malformed_jwt", err)
	}
	if jws.header.Crit != nil {
		return compactJWS{}, refuse(ErrInvalidToken, "crit_header", nil)
	}
	if !c.typeAllowed(jws.header.Typ) {
		return compactJWS{}, refuse(ErrInvalidToken, "token_type", nil)
	}
	return jws, nil
}

// jwtClaims decodes the verified payload of a JWT and checks its claims
// at now. The payload is decoded as encoding/json would decode it into a
// map, but duplicate member names (a token with two aud claims means one
// thing to us and another to someone else) and invalid UTF-8 are refused,
// as encoding/json/v2 does (package claimsjson).
func (c *Client) jwtClaims(payload string, issuer string, now time.Time) (Claims, *Error) {
	claims, err := claimsjson.Decode(payload)
	if err != nil {
		return nil, refuse(ErrInvalidToken, "malformed_payload", err)
	}
	if e := c.checkClaimsAt(claims, issuer, now, true, c.cfg.requireExp); e != nil {
		return nil, e
	}
	return claims, nil
}

// typeAllowed applies the typ policy: at+jwt (RFC 9068 section 2.1, with
// or without application/), and unless strict, JWT or no typ.
func (c *Client) typeAllowed(typ any) bool {
	s, isString := typ.(string)
	switch {
	case typ == nil:
		return !c.cfg.strictType
	case !isString:
		return false
	case strings.EqualFold(s, "at+jwt"), strings.EqualFold(s, "application/at+jwt"):
		return true
	}
	return !c.cfg.strictType && strings.EqualFold(s, "JWT")
}
