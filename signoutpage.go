package monocloud

import (
	"html/template"
	"net/http"
	"net/url"
)

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
// request's post_logout_url when it is on the app's origin, and drops it
// otherwise; the sign-out it leads to checks it again. The page may not be
// framed, cached or run anything.
func (c *Client) confirmSignOut(w http.ResponseWriter, r *http.Request) {
	link := c.appURL(c.cfg.routes.SignOut)
	if v := r.URL.Query().Get("post_logout_url"); v != "" {
		if _, ok := c.resolveReturnURL(v); ok {
			link += "?" + url.Values{"post_logout_url": {v}}.Encode()
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = signOutPage.Execute(w, struct{ SignOut, Cancel string }{link, c.appURL("/")})
}
