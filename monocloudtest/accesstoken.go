package monocloudtest

import (
	"crypto/rand"
	"maps"
	"time"
)

// AccessToken describes an access token for an API, as MintAccessToken and
// MintOpaqueToken issue it.
type AccessToken struct {
	// Audience is the API's identifier, the aud claim. Required.
	Audience string
	// Scopes is the space-separated scope claim.
	Scopes string
	// Subject is the sub claim; it defaults to Config.Subject.
	Subject string
	// TTL is the token's lifetime; it defaults to Config.AccessTokenTTL.
	// A negative TTL mints an expired token.
	TTL time.Duration
	// Type is the typ header of a JWT; it defaults to "at+jwt" (RFC 9068).
	Type string
	// DPoPKey, if set, binds the token to that key (cnf.jkt, RFC 9449).
	DPoPKey *DPoPKey
	// CertificateThumbprint, if set, binds the token to a client
	// certificate (cnf.x5t#S256, RFC 8705): see CertificateThumbprint.
	CertificateThumbprint string
	// Claims are extra claims, such as groups; they override the others.
	Claims map[string]any
}

// claims returns the claims of a, issued now by p.
func (p *Provider) accessTokenClaims(a AccessToken) map[string]any {
	now := p.now()
	ttl := a.TTL
	if ttl == 0 {
		ttl = p.cfg.AccessTokenTTL
	}
	sub := a.Subject
	if sub == "" {
		sub = p.cfg.Subject
	}
	claims := map[string]any{
		"iss":       p.Issuer(),
		"sub":       sub,
		"aud":       a.Audience,
		"client_id": p.cfg.ClientID,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       rand.Text(),
	}
	if a.Scopes != "" {
		claims["scope"] = a.Scopes
	}
	cnf := map[string]any{}
	if a.DPoPKey != nil {
		cnf["jkt"] = a.DPoPKey.Thumbprint()
	}
	if a.CertificateThumbprint != "" {
		cnf["x5t#S256"] = a.CertificateThumbprint
	}
	if len(cnf) > 0 {
		claims["cnf"] = cnf
	}
	maps.Copy(claims, a.Claims)
	return claims
}

// MintAccessToken returns a JWT access token (RFC 9068) for a, signed with
// the provider's current key, as an API's clients would get it.
func (p *Provider) MintAccessToken(t TestingT, a AccessToken) string {
	t.Helper()
	if a.Audience == "" {
		t.Fatalf("monocloudtest: MintAccessToken needs an Audience")
	}
	typ := a.Type
	if typ == "" {
		typ = typAccessToken
	}
	return p.signForTest(t, typ, p.accessTokenClaims(a))
}

// MintOpaqueToken returns an opaque access token for a, which the
// provider's introspection endpoint reports active until it expires or is
// revoked with RevokeOpaqueToken.
func (p *Provider) MintOpaqueToken(t TestingT, a AccessToken) string {
	t.Helper()
	if a.Audience == "" {
		t.Fatalf("monocloudtest: MintOpaqueToken needs an Audience")
	}
	token := rand.Text() + rand.Text()
	claims := p.accessTokenClaims(a)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.api.opaque[token] = claims
	return token
}

// RevokeOpaqueToken makes the introspection endpoint report token inactive.
func (p *Provider) RevokeOpaqueToken(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.api.opaque, token)
}
