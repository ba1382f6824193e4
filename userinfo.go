package monocloud

import (
	"context"
	"maps"
	"net/http"

	"github.com/monocloud/auth-go/internal/opclient"
)

// fetchUserInfo fetches the user's claims from the userinfo endpoint of p
// as opclient.UserInfo says: they must describe user sub, and a signed
// answer (application/jwt) is verified as
// provider.Verifier.VerifySignedUserInfo says and loses the JWT claims that
// the user drops from ID tokens (FilteredIDTokenClaims: iss, aud, exp,
// iat, ...). Its errors are as opError makes them: a refusal of the access
// token is a *TokenError with the provider's code.
func (c *Client) fetchUserInfo(ctx context.Context, p *discoveredOP, accessToken, sub string) (map[string]any, error) {
	resp, err := opclient.UserInfo(ctx, c.cfg.httpClient, p.userInfoURL, accessToken, sub, p.verifier.VerifySignedUserInfo)
	if err != nil {
		return nil, opError(err)
	}
	if resp.Signed {
		return c.withoutFilteredClaims(resp.Claims), nil
	}
	return resp.Claims, nil
}

// userInfo answers the signed-in user's claims as JSON, or 204 without a
// session. With Options.RefetchUserInfo (or o.RefetchUserInfo, or the query
// parameter refresh, see queryOverrides) it first refetches them from the
// provider.
func (c *Client) userInfo(w http.ResponseWriter, r *http.Request, o *UserInfoOptions) {
	if !c.startAuthRoute(w, r, http.MethodGet) {
		return
	}
	rt := route{onError: o.OnError}
	st, sc, ok := c.lookupOrFail(w, r, rt)
	if !ok {
		return
	}
	if sc == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	user := sc.Session.User
	if queryBool(c.queryOverrides(r), "refresh", boolOr(o.RefetchUserInfo, *c.cfg.opts.RefetchUserInfo)) {
		u, err := c.refetchUserInfo(r.Context(), st)
		if err != nil {
			c.fail(w, r, rt, err)
			return
		}
		user = u
	}
	writeJSON(w, http.StatusOK, user)
}

// refetchUserInfo refetches the user's claims with the (refreshed if
// needed) default access token and saves them in the session.
func (c *Client) refetchUserInfo(ctx context.Context, st *requestState) (User, error) {
	tokens, err := c.getTokens(ctx, st, nil)
	if err != nil {
		return nil, err
	}
	if !hasScope(tokens.Scopes, "openid") {
		return nil, &ValidationError{Message: "Fetching userinfo requires the openid scope"}
	}
	sc, err := st.lookup(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	info, err := c.fetchUserInfo(ctx, p, tokens.AccessToken, sc.Session.subject())
	if err != nil {
		return nil, err
	}
	s := sc.Session.clone()
	c.syncProfile(s, nil, info)
	if hook := c.cfg.opts.OnSessionCreating; hook != nil {
		if err := hook(ctx, s, nil, info, nil); err != nil {
			return nil, err
		}
	}
	if err := st.update(ctx, s); err != nil {
		return nil, err
	}
	return s.User, nil
}

// syncProfile updates the user of s with the claims of a new ID token and
// a userinfo answer, either of which may be nil. They are merged into the
// user, or with StrictProfileSync they replace it: the user is then built
// anew, as at sign-in, from the ID token's claims (those of s.IDToken when
// claims is nil) and the userinfo answer.
func (c *Client) syncProfile(s *Session, claims, info map[string]any) {
	if *c.cfg.opts.StrictProfileSync {
		if claims == nil {
			claims = unverifiedClaims(s.IDToken) // verified when received
		}
		s.User = User{}
	}
	maps.Copy(s.User, c.withoutFilteredClaims(claims))
	maps.Copy(s.User, info)
}
