package monocloud

import (
	"cmp"
	"html/template"
	"net/http"
	"net/url"
)

// signOut ends the session and, with FederatedSignOut, the provider's
// session through its end_session endpoint. Unless
// Options.AllowQueryParamOverrides is off, the query parameters
// post_logout_url (honoured only on the app's origin) and federated
// (true or false) override the options. While the provider cannot
// be reached, a federated sign-out answers 503 and ends nothing, so that a
// retry ends the session here and at the provider. With
// RevokeTokensOnSignOut, the session's tokens are revoked once it has
// ended; see revokeOnSignOut.
//
// o, when its fields are set, replaces the client's options for this
// sign-out: see SignOutOptions.
//
// A request the browser marks Sec-Fetch-Site: cross-site (a link, redirect
// or form of another site, which the Lax session cookie follows) ends
// nothing here or at the provider: it gets a page asking the user to
// confirm, whose link repeats the sign-out from the app's origin. Requests
// marked same-origin, same-site (another host of the same registrable
// domain, which SameSite cookies already trust and which can set cookies
// for the app's domain) or none (typed, bookmarked), and requests without
// the header (older browsers, scripts), sign out at once.
func (c *Client) signOut(w http.ResponseWriter, r *http.Request, o *SignOutOptions) {
	if !c.startAuthRoute(w, r, http.MethodGet) {
		return
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		c.confirmSignOut(w, r)
		return
	}
	returnTo := c.cfg.appRoot
	if u, ok := c.resolveReturnURL(c.cfg.opts.PostLogoutRedirectURI); ok {
		returnTo = u
	}
	if o.PostLogoutRedirectURI != "" {
		returnTo = o.PostLogoutRedirectURI
	}
	q := c.queryOverrides(r)
	if v := q.Get("post_logout_url"); v != "" {
		if u, ok := c.resolveReturnURL(v); ok {
			returnTo = u
		}
	}
	rt := route{onError: o.OnError}
	st, sc, ok := c.lookupOrFail(w, r, rt)
	if !ok {
		return
	}
	if sc == nil {
		c.clearStates(w, r, "") // sign-ins under way end too
		redirect(w, r, returnTo)
		return
	}
	var p *discoveredOP
	if queryBool(q, "federated", boolOr(o.FederatedSignOut, *c.cfg.opts.FederatedSignOut)) {
		// Before anything ends: a retry must still end both sessions.
		var err error
		if p, err = c.provider(r.Context()); err != nil {
			c.fail(w, r, rt, err)
			return
		}
	}
	if err := st.destroy(r.Context()); err != nil {
		c.fail(w, r, rt, err)
		return
	}
	c.clearStates(w, r, "")
	if *c.cfg.opts.RevokeTokensOnSignOut {
		if err := c.revokeOnSignOut(r.Context(), sc.Session); err != nil {
			c.emit(r.Context(), Event{Kind: EventProviderError, Op: "revoking the tokens at sign-out", Err: err})
		}
	}
	outcome := OutcomeLocal
	if p != nil {
		if u, ok := p.metadata.EndSessionURL(c.cfg.opts.ClientID, cmp.Or(o.IDTokenHint, sc.Session.IDToken), returnTo, o.State); ok {
			returnTo, outcome = u, OutcomeFederated
		}
	}
	c.emit(r.Context(), Event{Kind: EventSignOut, Outcome: outcome, Session: sessionTag(sc.Key)})
	redirect(w, r, returnTo)
}

// signOutPage asks the user to confirm a sign-out that another site
// started. Its links are same-origin, so following one is not cross-site.
// It has no script and no form, and html/template escapes the links.
var signOutPage = template.Must(template.New("signout").Parse(`<!DOCTYPE html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out</title>
<h1>Sign out?</h1>
<p>Another site asked to sign you out.</p>
<p><a href="{{.SignOut}}">Sign out</a> &middot; <a href="{{.Cancel}}">Stay signed in</a></p>
</html>
`))

// confirmSignOut answers a cross-site sign-out request with signOutPage,
// without touching the session. The page's sign-out link repeats the
// request's federated, and its post_logout_url when it is on the app's
// origin (dropping it otherwise); the sign-out it leads to checks it again.
// The page is written as writeHTML says.
func (c *Client) confirmSignOut(w http.ResponseWriter, r *http.Request) {
	link := c.appURL(c.relativePath(r)) // this route, or a SignOutHandler
	q, repeat := c.queryOverrides(r), url.Values{}
	if v := q.Get("post_logout_url"); v != "" {
		if _, ok := c.resolveReturnURL(v); ok {
			repeat.Set("post_logout_url", v)
		}
	}
	if q.Has("federated") {
		repeat.Set("federated", q.Get("federated"))
	}
	if len(repeat) > 0 {
		link += "?" + repeat.Encode()
	}
	writeHTML(w, http.StatusOK, signOutPage, struct{ SignOut, Cancel string }{link, c.cfg.appRoot})
}
