package monocloud

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SignInParams are the query parameters of a sign-in redirect.
type SignInParams struct {
	ReturnURL         string
	Scopes            []string
	Resource          []string
	Prompt            string
	LoginHint         string
	AuthenticatorHint string
	Display           string
	UILocales         string
	ACRValues         []string
	MaxAge            *int
}

// SignInURL returns the URL of the sign-in route with p as query parameters.
func (c *Client) SignInURL(p *SignInParams) string {
	if p == nil {
		p = &SignInParams{}
	}
	q := url.Values{}
	for name, v := range map[string]string{
		"return_url": p.ReturnURL, "scope": strings.Join(p.Scopes, " "), "resource": strings.Join(p.Resource, " "),
		"prompt": p.Prompt, "login_hint": p.LoginHint, "authenticator_hint": p.AuthenticatorHint,
		"display": p.Display, "ui_locales": p.UILocales, "acr_values": strings.Join(p.ACRValues, " "),
	} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if p.MaxAge != nil {
		q.Set("max_age", strconv.Itoa(*p.MaxAge))
	}
	u := c.appURL(c.cfg.routes.SignIn)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// RedirectToSignIn redirects (307) to the sign-in route.
func (c *Client) RedirectToSignIn(w http.ResponseWriter, r *http.Request, p *SignInParams) {
	http.Redirect(w, r, c.SignInURL(p), http.StatusTemporaryRedirect)
}

// SignOutURL returns the URL of the sign-out route; postLogoutURL, when
// set, is where sign-out returns (on the app's origin only).
func (c *Client) SignOutURL(postLogoutURL string) string {
	u := c.appURL(c.cfg.routes.SignOut)
	if strings.TrimSpace(postLogoutURL) != "" {
		u += "?" + url.Values{"post_logout_url": {postLogoutURL}}.Encode()
	}
	return u
}

// RedirectToSignOut redirects (307) to SignOutURL(postLogoutURL).
func (c *Client) RedirectToSignOut(w http.ResponseWriter, r *http.Request, postLogoutURL string) {
	http.Redirect(w, r, c.SignOutURL(postLogoutURL), http.StatusTemporaryRedirect)
}
