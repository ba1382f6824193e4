package monocloud

import (
	"net/http"
	"net/url"
	"testing"
)

// TestRedirectToSignOut: 307 for GET and HEAD, 303 otherwise, to
// SignOutURL, so that a sign-out form's POST becomes the GET the sign-out
// route accepts (a 307 would replay the POST, which it answers 405).
func TestRedirectToSignOut(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims, build: func(c *Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", c.Handler())
		mux.HandleFunc("/leave", func(w http.ResponseWriter, r *http.Request) { c.RedirectToSignOut(w, r, "/bye") })
		return mux
	}})
	for method, status := range map[string]int{http.MethodGet: http.StatusTemporaryRedirect, http.MethodHead: http.StatusTemporaryRedirect, http.MethodPost: http.StatusSeeOther} {
		resp, _ := app.do(method, "/leave", url.Values{})
		if resp.StatusCode != status || resp.Header.Get("Location") != app.client.SignOutURL("/bye") {
			t.Errorf("%s: %d to %s, want %d to SignOutURL", method, resp.StatusCode, resp.Header.Get("Location"), status)
		}
	}

	app.signIn("")
	resp, _ := app.do(http.MethodPost, "/leave", url.Values{})
	follow := http.MethodGet // as a browser follows a 303
	if resp.StatusCode == http.StatusTemporaryRedirect {
		follow = http.MethodPost
	}
	if resp, _ := app.do(follow, resp.Header.Get("Location"), nil); resp.StatusCode != http.StatusTemporaryRedirect || app.session() != nil {
		t.Errorf("following the redirect of a POST with %s: %d, signed in: %t; want the sign-out's 307, signed out", follow, resp.StatusCode, app.session() != nil)
	}
}
