// Package apptest builds a ready [monocloud.Client] against a
// [monocloudtest.Provider] and signs a user in to an application through
// its real routes, for end-to-end tests of an application's handlers.
//
// It is a package of its own because package monocloud's own tests use
// monocloudtest, which therefore cannot import monocloud.
//
// A test serves its application on an [httptest.Server] whose address is
// known before the Client is built:
//
//	op := monocloudtest.NewProvider(t, monocloudtest.Config{Subject: "u-1"})
//	srv := httptest.NewUnstartedServer(nil)
//	client := apptest.NewClient(t, op, "http://"+srv.Listener.Addr().String(), nil)
//	srv.Config.Handler = client.AuthMiddleware(nil)(app)
//	srv.Start()
//	defer srv.Close()
//	browser := apptest.SignIn(t, op, srv.URL+"/api/auth/signin")
//	resp, err := browser.Get(srv.URL + "/profile") // signed in as u-1
package apptest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
)

// cookieSecret is the cookie secret of the Clients NewClient builds.
const cookieSecret = "apptest cookie secret, not for production use"

// NewClient returns a Client of the application at appURL that signs in at
// op as its registered client, with a fixed cookie secret and the environment
// ignored (Options.IgnoreEnvironment), so that the MONOCLOUD_AUTH_*
// variables of the shell running the test change nothing. opts, if not
// nil, sets the other options; its TenantDomain, ClientID, ClientSecret,
// AppURL and CookieSecret are replaced. It fails the test if New does.
func NewClient(t monocloudtest.TestingT, op *monocloudtest.Provider, appURL string, opts *monocloud.Options) *monocloud.Client {
	t.Helper()
	var o monocloud.Options
	if opts != nil {
		o = *opts
	}
	o.IgnoreEnvironment = true
	o.TenantDomain = op.Issuer()
	o.ClientID, o.ClientSecret = op.ClientCredentials()
	o.AppURL = appURL
	o.CookieSecret = cookieSecret
	client, err := monocloud.New(o)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return client
}

// SignIn signs op's user in to the application whose sign-in route is at
// signInURL, as a browser would: the route redirects to op, op signs the
// user in (see [monocloudtest.Provider.Authorize]) and redirects to the
// application's callback, which sets the session cookie. It returns an
// *http.Client whose cookie jar holds the session, so that its requests to
// the application are signed in; Jar.Cookies gives the cookies for requests
// made with httptest.NewRecorder. It fails the test unless every step
// succeeds.
func SignIn(t monocloudtest.TestingT, op *monocloudtest.Provider, signInURL string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	browser := &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	toProvider := visit(t, browser, signInURL, "sign-in route")
	if origin := toProvider.Scheme + "://" + toProvider.Host; origin != op.Issuer() {
		t.Fatalf("apptest: sign-in route %s redirected to %s, not to the provider %s", signInURL, toProvider, op.Issuer())
	}
	callback := op.Authorize(t, toProvider.String())
	visit(t, browser, callback.String(), "callback")
	browser.CheckRedirect = nil
	return browser
}

// visit GETs rawURL, the step of the sign-in named step, and returns where
// it redirects, failing the test if it does not.
func visit(t monocloudtest.TestingT, browser *http.Client, rawURL, step string) *url.URL {
	t.Helper()
	resp, err := browser.Get(rawURL)
	if err != nil {
		t.Fatalf("apptest: %s: %v", step, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("apptest: %s %s answered %s, want a redirect: %s", step, rawURL, resp.Status, body)
	}
	return loc
}
