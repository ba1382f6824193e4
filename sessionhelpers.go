package monocloud

import (
	"context"
	"log/slog"
	"net/http"
)

// Session returns the session of ctx's request (served under AuthMiddleware
// or Handler), or ErrNoSession. It reflects changes made earlier in the
// same request. The result is a copy: change it with UpdateSession.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	st := c.state(ctx)
	if st == nil {
		return nil, ErrNoRequestContext
	}
	return st.sessionCopy(ctx)
}

// SessionWithResponse is Session for an explicit request and response; a
// sliding session's renewed cookie is written to w.
func (c *Client) SessionWithResponse(w http.ResponseWriter, r *http.Request) (*Session, error) {
	return c.requestState(w, r).sessionCopy(r.Context())
}

func (st *requestState) sessionCopy(ctx context.Context) (*Session, error) {
	sc, err := st.lookup(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	return sc.Session.clone(), nil
}

// UpdateSession replaces the content of the session of ctx's request,
// keeping its creation time; the cookie is re-written. It returns
// ErrNoSession when there is no session to update.
func (c *Client) UpdateSession(ctx context.Context, s *Session) error {
	st := c.state(ctx)
	if st == nil {
		return ErrNoRequestContext
	}
	return st.replace(ctx, s)
}

// UpdateSessionWithResponse is UpdateSession for an explicit request and
// response.
func (c *Client) UpdateSessionWithResponse(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.requestState(w, r).replace(r.Context(), s)
}

func (st *requestState) replace(ctx context.Context, s *Session) error {
	return st.update(ctx, s.clone())
}

// DestroySession ends the session of ctx's request locally (no call to the
// provider): the store entry is deleted and the cookies expired.
// It fails when the response header was already written, since the cookies
// can then no longer be expired, and with a *StoreError when the store
// fails: the session has then not ended.
func (c *Client) DestroySession(ctx context.Context) error {
	st := c.state(ctx)
	if st == nil {
		return ErrNoRequestContext
	}
	return st.destroy(ctx)
}

// DestroySessionWithResponse is DestroySession for an explicit request and
// response.
func (c *Client) DestroySessionWithResponse(w http.ResponseWriter, r *http.Request) error {
	return c.requestState(w, r).destroy(r.Context())
}

// IsAuthenticated reports whether the request of ctx (or r with
// IsAuthenticatedRequest) has a valid session. It is false when the
// SessionStore fails; Session tells that case apart (a *StoreError).
//
// It is false too when ctx holds no request state (a context not derived
// from r.Context() of a request under AuthMiddleware or Handler, such as
// gin's *gin.Context without ContextWithFallback): a mistake, which it logs
// at Error, with ErrNoRequestContext, the first time. Session returns that
// error instead.
func (c *Client) IsAuthenticated(ctx context.Context) bool {
	st := c.state(ctx)
	if st == nil {
		c.logNoRequestContext(ctx, "IsAuthenticated")
		return false
	}
	return st.signedIn(ctx, GroupCheck{})
}

// IsAuthenticatedRequest reports whether r has a valid session.
func (c *Client) IsAuthenticatedRequest(r *http.Request) bool {
	return c.requestState(nil, r).signedIn(r.Context(), GroupCheck{})
}

// IsUserInGroup reports whether the signed-in user of ctx's request passes
// g. No groups means true; no session means false. Without request state
// in ctx it is false and logs the mistake, as IsAuthenticated does.
func (c *Client) IsUserInGroup(ctx context.Context, g GroupCheck) bool {
	st := c.state(ctx)
	if st == nil {
		c.logNoRequestContext(ctx, "IsUserInGroup")
		return false
	}
	return st.signedIn(ctx, g)
}

// IsUserInGroupRequest reports whether the signed-in user of r passes g,
// for a request served without the middleware. No groups means true; no
// session, or a SessionStore that fails, means false.
func (c *Client) IsUserInGroupRequest(r *http.Request, g GroupCheck) bool {
	return c.requestState(nil, r).signedIn(r.Context(), g)
}

// signedIn reports whether the request has a valid session whose user
// passes g. The user claims are decoded only when g names groups.
func (st *requestState) signedIn(ctx context.Context, g GroupCheck) bool {
	sc, err := st.lookupEncoded(ctx)
	return err == nil && sc != nil && st.c.inGroup(sc, g)
}

// logNoRequestContext logs, at Error and once per Client, that helper was
// handed a context without request state: the helpers that answer a bool
// cannot return ErrNoRequestContext, and a silent false would read as
// "signed out" for every request.
func (c *Client) logNoRequestContext(ctx context.Context, helper string) {
	if c.noRequestContextLogged.Swap(true) {
		return
	}
	c.cfg.logger.LogAttrs(ctx, slog.LevelError, "monocloud: "+helper+" reports false: no request state in its context",
		slog.String("error", ErrNoRequestContext.Error()))
}
