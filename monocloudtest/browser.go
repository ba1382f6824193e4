package monocloudtest

import (
	"io"
	"net/http"
	"net/url"
)

// Authorize simulates the user signing in: it GETs authorizeURL, an
// authorization request URL at the provider, and returns the URL the browser
// would be redirected to, the client's redirect_uri with code, state and iss
// (or error and error_description), without following it. It fails the test
// unless the provider answers with a redirect; use
// [Provider.AuthorizeFormPost] for response_mode=form_post.
func (p *Provider) Authorize(t TestingT, authorizeURL string) *url.URL {
	t.Helper()
	resp, body := p.visit(t, authorizeURL)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("monocloudtest: authorization request got %s, want a redirect: %s", resp.Status, body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("monocloudtest: authorization response: %v", err)
	}
	return loc
}

// AuthorizeFormPost is like [Provider.Authorize] for
// response_mode=form_post: it returns the URL the browser would POST to, the
// client's redirect_uri, and the form it would post.
func (p *Provider) AuthorizeFormPost(t TestingT, authorizeURL string) (action string, form url.Values) {
	t.Helper()
	resp, body := p.visit(t, authorizeURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("monocloudtest: authorization request got %s, want a form_post page: %s", resp.Status, body)
	}
	action, form, err := parseFormPost(body)
	if err != nil {
		t.Fatalf("monocloudtest: authorization response: %v:\n%s", err, body)
	}
	return action, form
}

// visit GETs rawURL at the provider without following redirects, and returns
// the response with its body.
func (p *Provider) visit(t TestingT, rawURL string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("monocloudtest: authorization request URL: %v", err)
	}
	if origin := u.Scheme + "://" + u.Host; origin != p.Issuer() {
		t.Fatalf("monocloudtest: authorization request URL %s is not at the provider %s", rawURL, p.Issuer())
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	browser := &http.Client{
		Transport: p.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("monocloudtest: authorization request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("monocloudtest: reading authorization response: %v", err)
	}
	return resp, string(body)
}
