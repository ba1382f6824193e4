package monocloud

import (
	"context"
	"net/http"

	"github.com/monocloud/auth-go/internal/opclient"
)

// fetchUserInfo calls the userinfo endpoint and checks that it describes
// the session's user.
func (c *Client) fetchUserInfo(ctx context.Context, accessToken, sub string) (map[string]any, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	info, err := opclient.UserInfo(ctx, c.cfg.httpClient, p.userInfoURL, accessToken)
	if err != nil {
		return nil, opError(err)
	}
	if got, _ := info["sub"].(string); sub != "" && got != sub {
		return nil, &ValidationError{Message: "userinfo sub does not match the ID token sub"}
	}
	return info, nil
}

// userInfo answers the signed-in user's claims as JSON, or 204 without a
// session. With RefetchUserInfo (or o.Refresh) it first refetches them from
// the provider.
func (c *Client) userInfo(w http.ResponseWriter, r *http.Request, o *UserInfoOptions) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	noCache(w)
	st, sc, ok := c.lookupOrFail(w, r)
	if !ok {
		return
	}
	if sc == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	user := sc.Session.User
	if boolOr(o.Refresh, c.cfg.refetchUserInfo) {
		u, err := c.refetchUserInfo(r.Context(), st)
		if err != nil {
			c.fail(w, r, err)
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
	info, err := c.fetchUserInfo(ctx, tokens.AccessToken, sc.Session.subject())
	if err != nil {
		return nil, err
	}
	s := sc.Session.clone()
	for k, v := range info {
		s.User[k] = v
	}
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
