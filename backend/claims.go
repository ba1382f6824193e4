package backend

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are the claims of a valid access token: the JWT payload, or the
// introspection response without active. Numbers are float64, as
// encoding/json decodes them.
//
// The Client caches a token's claims and serves the same map to every
// request that carries the token, concurrently: treat it as read-only. A
// handler that needs changed claims copies them first (maps.Clone, and
// the nested values it changes). Writing to the map never changes what a
// token is allowed: the scopes, groups, bindings and expiry that
// authorization checks were read from the claims when the token was
// validated, and are kept apart from the map.
type Claims map[string]any

type claimsKey struct{}

// ClaimsFromContext returns the claims of the request's token, in a
// handler behind Protect.
func ClaimsFromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Subject returns the sub claim, or "".
func (c Claims) Subject() string { return c.str("sub") }

// ClientID returns the client_id claim (RFC 9068 section 2.2), or "".
func (c Claims) ClientID() string { return c.str("client_id") }

// Scopes returns the granted scopes: the space-separated scope claim, or
// the scp array (or string) when there is no scope.
func (c Claims) Scopes() []string {
	if s, ok := c["scope"].(string); ok {
		return scopeList(s)
	}
	switch v := c["scp"].(type) {
	case string:
		return scopeList(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// HasScope reports whether scope was granted.
func (c Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes(), scope) }

// scopeList splits a scope parameter, scope tokens separated by spaces
// (RFC 6749 section 3.3).
func scopeList(s string) []string {
	out := make([]string, 0, strings.Count(s, " ")+1)
	for s != "" {
		var scope string
		scope, s, _ = strings.Cut(s, " ")
		if scope != "" {
			out = append(out, scope)
		}
	}
	return out
}

// Groups returns the groups in claim (Options.GroupsClaim), each the
// string, or the id and the name of an {id, name} object.
func (c Claims) Groups(claim string) []string {
	var out []string
	add := func(g any) {
		switch g := g.(type) {
		case string:
			out = append(out, g)
		case map[string]any:
			for _, k := range []string{"id", "name"} {
				if s, ok := g[k].(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	if list, ok := c[claim].([]any); ok {
		for _, g := range list {
			add(g)
		}
	} else {
		add(c[claim])
	}
	return out
}

// ExpiresAt returns the exp claim, and whether there is a valid one.
func (c Claims) ExpiresAt() (time.Time, bool) { return numericDate(c["exp"]) }

func (c Claims) str(name string) string {
	s, _ := c[name].(string)
	return s
}

// numericDate returns the time of a NumericDate claim's value, and
// whether it is one.
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// hasAudience reports whether the aud claim, a string or an array of
// them, contains aud.
func (c Claims) hasAudience(aud string) bool {
	switch v := c["aud"].(type) {
	case string:
		return v == aud
	case []any:
		return slices.Contains(v, any(aud))
	}
	return false
}

// checkClaims is checkClaimsAt at c.now().
func (c *Client) checkClaims(claims Claims, issuer string, requireIss, requireExp bool) *Error {
	return c.checkClaimsAt(claims, issuer, c.now(), requireIss, requireExp)
}

// checkClaimsAt applies the rules every token's claims must pass (RFC 9068
// section 4, RFC 7662 section 2.2) at now, the time the validation
// started: the issuer, equal to the discovered one (required for JWTs,
// checked when present otherwise), the audience, a string sub, exp
// (required if requireExp), nbf and iat with the tolerance.
func (c *Client) checkClaimsAt(claims Claims, issuer string, now time.Time, requireIss, requireExp bool) *Error {
	now = now.Add(c.cfg.clockSkew)
	tol := c.cfg.clockTolerance
	if iss, ok := claims["iss"]; ok || requireIss {
		if s, _ := iss.(string); s != issuer {
			return refuse(ErrInvalidToken, "issuer", nil)
		}
	}
	if sub, ok := claims["sub"]; ok {
		if _, ok := sub.(string); !ok {
			return refuse(ErrInvalidToken, "subject", nil)
		}
	}
	if !claims.hasAudience(c.cfg.audience) {
		return refuse(ErrInvalidToken, "audience", nil)
	}
	if v, ok := claims["exp"]; ok || requireExp {
		exp, ok := numericDate(v)
		switch {
		case !ok:
			return refuse(ErrInvalidToken, "exp_missing", nil)
		case !exp.After(now.Add(-tol)):
			return refuse(ErrInvalidToken, "expired", nil)
		}
	}
	for _, name := range []string{"nbf", "iat"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		t, ok := numericDate(v)
		if !ok {
			return refuse(ErrInvalidToken, name+"_invalid", nil)
		}
		if t.After(now.Add(tol)) {
			return refuse(ErrInvalidToken, name+"_in_future", nil)
		}
	}
	return nil
}

// requirements are ProtectOptions, resolved.
type requirements struct {
	scopes, anyScopes []string
	groups            []string
	matchAll          bool
}

// authorize checks the route's scopes and groups against g. It runs on
// every request, cached tokens included.
//
// The scope of a refusal (RFC 6750 section 3) names scopes that would
// grant access: the missing ones of req.scopes and, if no scope of
// req.anyScopes was granted, the first of them. Naming every alternative
// would read as if all were required.
func (c *Client) authorize(g *grant, req *requirements) *Error {
	if req == nil || (len(req.scopes) == 0 && len(req.anyScopes) == 0 && len(req.groups) == 0) {
		return nil
	}
	if len(req.scopes) > 0 || len(req.anyScopes) > 0 {
		var missing []string
		for _, s := range req.scopes {
			if !g.granted(s) {
				missing = append(missing, s)
			}
		}
		if len(req.anyScopes) > 0 && !slices.ContainsFunc(req.anyScopes, g.granted) && !slices.Contains(missing, req.anyScopes[0]) {
			missing = append(missing, req.anyScopes[0])
		}
		if len(missing) > 0 {
			return &Error{Code: ErrInsufficientScope, Reason: "scope", MissingScopes: missing}
		}
	}
	if len(req.groups) > 0 {
		in := func(group string) bool { return slices.Contains(g.groups, group) }
		if req.matchAll && !all(req.groups, in) || !req.matchAll && !slices.ContainsFunc(req.groups, in) {
			return refuse(ErrInsufficientScope, "groups", nil)
		}
	}
	return nil
}

func all(s []string, f func(string) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}
