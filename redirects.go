package monocloud

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SignInURL returns the URL of the sign-in route. returnURL, when set, is
// where sign-in returns (on the app's origin only; default the app's root).
// p, when not nil, holds this sign-in's authorization parameters, each of
// which replaces its Options.DefaultAuthParams value (ResponseMode and
// IDTokenHint are left out). The sign-in route reads them only with
// Options.AllowQueryParamOverrides on (the default).
func (c *Client) SignInURL(returnURL string, p *AuthParams) string {
	if p == nil {
		p = &AuthParams{}
	}
	q := url.Values{}
	for name, v := range map[string]string{"return_url": returnURL, "scope": p.Scopes, "resource": p.Resource} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for _, f := range authParamFields {
		if v := *f.field(p); v != "" && f.query {
			q.Set(f.name, v)
		}
	}
	if p.MaxAge != nil {
		q.Set("max_age", strconv.Itoa(*p.MaxAge))
	}
	u := c.appURL(c.cfg.opts.Routes.SignIn)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// RedirectToSignIn redirects to SignInURL(returnURL, p): 307 for GET and
// HEAD, 303 for other methods, so that a form's POST is not replayed
// against the sign-in route (which answers 405).
func (c *Client) RedirectToSignIn(w http.ResponseWriter, r *http.Request, returnURL string, p *AuthParams) {
	redirect(w, r, c.SignInURL(returnURL, p))
}

// SignOutURL returns the URL of the sign-out route; postLogoutURL, when
// set, is where sign-out returns (on the app's origin only).
func (c *Client) SignOutURL(postLogoutURL string) string {
	u := c.appURL(c.cfg.opts.Routes.SignOut)
	if strings.TrimSpace(postLogoutURL) != "" {
		u += "?" + url.Values{"post_logout_url": {postLogoutURL}}.Encode()
	}
	return u
}

// RedirectToSignOut redirects to SignOutURL(postLogoutURL): 307 for GET
// and HEAD, 303 for other methods, so that a form's POST is not replayed
// against the sign-out route (which answers 405).
func (c *Client) RedirectToSignOut(w http.ResponseWriter, r *http.Request, postLogoutURL string) {
	redirect(w, r, c.SignOutURL(postLogoutURL))
}

// redirect answers an auth route with a redirect to url: 307, as the SDK
// does, or 303 after a POST (a form_post callback), so that the browser
// does not post the form again to the next page.
func redirect(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, redirectStatus(r))
}

// redirectStatus is 307 Temporary Redirect for GET and HEAD, else 303 See
// Other, which a browser follows with a GET.
func redirectStatus(r *http.Request) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return http.StatusSeeOther
	}
	return http.StatusTemporaryRedirect
}
