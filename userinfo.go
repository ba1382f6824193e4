package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/monocloud/auth-go/internal/opclient"
)

// fetchUserInfo calls the userinfo endpoint and checks that it describes
// the session's user. A refusal is a *TokenError (see userInfoError). A signed answer (application/jwt) is verified as
// verifySignedUserInfo says.
func (c *Client) fetchUserInfo(ctx context.Context, accessToken, sub string) (map[string]any, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := opclient.UserInfo(ctx, c.cfg.httpClient, p.userInfoURL, accessToken)
	if err != nil {
		return nil, userInfoError(err)
	}
	info := resp.Claims
	if resp.JWT != "" {
		if info, err = c.verifySignedUserInfo(ctx, p, resp.JWT); err != nil {
			return nil, err
		}
	}
	if got, _ := info["sub"].(string); sub != "" && got != sub {
		return nil, &ValidationError{Message: "userinfo sub does not match the ID token sub"}
	}
	return info, nil
}

// userInfoError returns the error of a failed userinfo call: the
// provider's refusal (a Bearer challenge, or 403, which is
// CodeInsufficientScope) is a *TokenError with its code, as in the SDK;
// other failures are as opError makes them.
func userInfoError(err error) error {
	var oe *opclient.Error
	if errors.As(err, &oe) && oe.Kind == opclient.KindOAuth {
		return &TokenError{Code: TokenErrorCode(oe.Code), Message: oe.Description, Raw: rawResponse(oe), Err: err}
	}
	return opError(err)
}

// verifySignedUserInfo verifies a signed userinfo answer (OpenID Connect
// Core section 5.3.2) and returns its claims, less the JWT claims that the
// user drops from ID tokens (FilteredClaims: iss, aud, exp, iat, ...). The
// signature must be by a key of the provider's JWKS with IDTokenSigningAlg;
// iss and aud, which such an answer SHOULD carry, must be the issuer and
// include the client ID when present. exp and iat are not checked: the
// answer is used at once. Encrypted answers are not supported.
func (c *Client) verifySignedUserInfo(ctx context.Context, p *provider, raw string) (map[string]any, error) {
	if err := checkUTF8(raw); err != nil {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Signed userinfo verification failed", Err: err}
	}
	payload, err := p.keys.verifyJWT(ctx, raw, fromProvider)
	if errors.Is(err, ErrProviderUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Signed userinfo verification failed", Err: err}
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Failed to parse JWT Payload", Err: err}
	}
	if iss, ok := claims["iss"]; ok && iss != p.issuer {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Signed userinfo was issued by another issuer"}
	}
	if aud, ok := claims["aud"]; ok && !audienceContains(aud, c.cfg.clientID) {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Signed userinfo is meant for another audience"}
	}
	return c.userClaims(claims), nil
}

// audienceContains reports whether aud, a JWT aud claim as decoded by
// encoding/json (a string or an array), names clientID.
func audienceContains(aud any, clientID string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == clientID
	case []any:
		return slices.Contains(aud, any(clientID))
	}
	return false
}

// userInfo answers the signed-in user's claims as JSON, or 204 without a
// session. With Options.RefetchUserInfo (or o.RefetchUserInfo, or the query
// parameter refresh, see queryOverrides) it first refetches them from the
// provider.
func (c *Client) userInfo(w http.ResponseWriter, r *http.Request, o *UserInfoOptions) {
	if !c.startAuthRoute(w, r, http.MethodGet) {
		return
	}
	st, sc, ok := c.lookupOrFail(w, r)
	if !ok {
		return
	}
	if sc == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	user := sc.Session.User
	if queryBool(c.queryOverrides(r), "refresh", boolOr(o.RefetchUserInfo, c.cfg.refetchUserInfo)) {
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
	if c.cfg.strictProfileSync {
		if claims == nil {
			claims = unverifiedClaims(s.IDToken) // verified when received
		}
		s.User = User{}
	}
	maps.Copy(s.User, c.userClaims(claims))
	maps.Copy(s.User, info)
}
