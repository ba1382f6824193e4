package monocloud

import (
	"context"
	"net/http"

	"github.com/monocloud/auth-go/internal/provider"
)

// backChannelLogout verifies a logout token (OpenID Connect Back-Channel
// Logout 1.0), ends the matching sessions (on every instance, and
// deleting them from the store, with a Coordinator) and calls
// OnBackChannelLogout. Invalid tokens get 400, as the specification asks;
// a Coordinator that fails gets 503, so that the provider may retry. Errors
// are answered as JSON: see failLogout.
func (c *Client) backChannelLogout(w http.ResponseWriter, r *http.Request) {
	if !c.startAuthRoute(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := r.PostFormValue("logout_token")
	if token == "" {
		c.failLogout(w, r, &ValidationError{Message: "Missing Logout Token"})
		return
	}
	p, err := c.provider(r.Context())
	if err != nil {
		c.failLogout(w, r, err)
		return
	}
	lt, err := p.verifier.VerifyLogoutToken(r.Context(), token)
	if err != nil {
		c.failLogout(w, r, opError(err))
		return
	}
	// Marked used before anything else, so that two copies arriving at once
	// are not both served, here or at another instance.
	release, err := c.useLogoutToken(r.Context(), lt)
	if err != nil {
		c.failLogout(w, r, err)
		return
	}
	// Dated by the token, not its receipt: a replay, or a retry, ends no
	// session started after the logout.
	at := lt.IssuedAt
	if now := c.now(); now.Before(at) { // iat within the skew ahead
		at = now
	}
	c.ended.add(lt.Subject, lt.SessionID, at)
	if err := c.coord.endSession(r.Context(), EndedSession{SID: lt.SessionID, Sub: lt.Subject, At: at}); err != nil {
		release() // the provider may retry
		c.failLogout(w, r, err)
		return
	}
	if hook := c.cfg.opts.OnBackChannelLogout; hook != nil {
		if err := hook(r.Context(), lt.Subject, lt.SessionID); err != nil {
			release() // the provider may retry
			c.failLogout(w, r, err)
			return
		}
	}
	outcome := OutcomeOK
	if lt.NoExp {
		outcome = OutcomeNoExp
	}
	c.emit(r.Context(), Event{Kind: EventBackChannelLogout, Outcome: outcome})
	w.WriteHeader(http.StatusOK)
}

// useLogoutToken marks logout token lt used, in this process and for every
// instance, until it expires. A token already used gives a
// *TokenError; a Coordinator that fails, a *StoreError. release forgets the
// use, for a token whose logout failed.
func (c *Client) useLogoutToken(ctx context.Context, lt *provider.LogoutToken) (release func(), err error) {
	used := &TokenError{Code: CodeInvalidToken, Message: "Invalid logout token: already used"}
	if !c.logoutJTIs.Add(lt.TokenID, struct{}{}, c.now()) {
		return nil, used
	}
	id := "logout:" + lt.TokenID
	first, err := c.coord.useTokenID(ctx, id, lt.Expires)
	if err != nil || !first {
		c.logoutJTIs.Delete(lt.TokenID)
		if err != nil {
			return nil, storeError("recording the logout token with the coordinator", err)
		}
		return nil, used
	}
	return func() {
		c.logoutJTIs.Delete(lt.TokenID)
		// Without the request's context: the release must outlive its
		// cancellation.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.opts.ResponseTimeout)
		defer cancel()
		if err := c.coord.releaseTokenID(ctx, id); err != nil {
			c.emit(ctx, Event{Kind: EventStoreError, Op: "releasing a logout token with the coordinator", Err: err})
		}
	}, nil
}
