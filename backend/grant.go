package backend

import (
	"slices"
	"time"
)

// grant is what a valid token authorizes, derived from its claims once,
// when the token is validated, and never changed: the checks that run on
// every request, the cached ones included (the route's scopes and groups,
// the DPoP and certificate bindings, the cache's until), read the grant,
// never the claims. Handlers receive the claims, one map shared by the
// requests of a token: a handler that writes to it changes what the next
// handlers read, not what any request is allowed. (A copy of the claims
// for each request would cost more than the cached path can spare, about
// 130 ns and two allocations for a typical token, and would still share
// nested values.)
type grant struct {
	claims Claims
	scopes []string
	groups []string // from Options.GroupsClaim, as Claims.Groups reads it
	dpop   binding  // cnf.jkt
	cert   binding  // cnf["x5t#S256"]
	until  time.Time
}

// binding is a member of a token's cnf claim: the thumbprint of the key or
// certificate it binds the token to, "" for none, or malformed if cnf or
// the member cannot be read, which refuses the token rather than let it
// pass for unbound.
type binding struct {
	thumbprint string
	malformed  bool
}

// newGrant derives the grant of valid claims, served until until.
func newGrant(claims Claims, groupsClaim string, until time.Time) *grant {
	g := &grant{
		claims: claims,
		scopes: claims.Scopes(),
		groups: claims.Groups(groupsClaim),
		until:  until,
	}
	if cnf, ok := confirmation(claims); ok {
		g.dpop, g.cert = bindingOf(cnf, "jkt"), bindingOf(cnf, "x5t#S256")
	} else {
		g.dpop, g.cert = binding{malformed: true}, binding{malformed: true}
	}
	return g
}

// bindingOf reads member of cnf, the confirmation claim as an object (RFC
// 7800 section 3.1): a non-empty string if present.
func bindingOf(cnf map[string]any, member string) binding {
	v, bound := cnf[member]
	if !bound {
		return binding{}
	}
	s, _ := v.(string)
	return binding{thumbprint: s, malformed: s == ""}
}

// granted reports whether scope was granted.
func (g *grant) granted(scope string) bool { return slices.Contains(g.scopes, scope) }
