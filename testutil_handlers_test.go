package monocloud

// Shared helpers of config_test.go, handlers_test.go, middleware_test.go and
// badinput_test.go. Names carry an "ht" prefix so that they do not collide
// with the helpers of the other test files of the package.

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// htApp is a testApp that also keeps the app's handler, so that tests can
// call it directly (a panic then fails the test instead of being swallowed
// by net/http).
type htApp struct {
	*testApp
	h http.Handler
}

// htOK answers "ok <path>".
var htOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "ok "+r.URL.Path)
})

// htNewApp is newTestApp keeping the handler. build nil: the middleware
// with mw in front of htOK.
func htNewApp(t testing.TB, opcfg monocloudtest.Config, opts Options, mw *MiddlewareOptions, build func(c *Client) http.Handler) *htApp {
	t.Helper()
	return htNewAppAt(t, "", opcfg, opts, mw, build)
}

// htNewAppAt is htNewApp with AppURL = the server's URL + basePath (unless
// opts.AppURL is set).
func htNewAppAt(t testing.TB, basePath string, opcfg monocloudtest.Config, opts Options, mw *MiddlewareOptions, build func(c *Client) http.Handler) *htApp {
	t.Helper()
	return htNewAppWithOP(t, monocloudtest.NewProvider(t, opcfg), basePath, opcfg, opts, mw, build)
}

// htNewAppWithOP is htNewAppAt with a provider started by the caller
// (configured with opcfg), for tests that set it up before New.
func htNewAppWithOP(t testing.TB, op *monocloudtest.Provider, basePath string, opcfg monocloudtest.Config, opts Options, mw *MiddlewareOptions, build func(c *Client) http.Handler) *htApp {
	t.Helper()
	if build == nil {
		build = func(c *Client) http.Handler { return c.AuthMiddleware(mw)(htOK) }
	}
	a := &htApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if opts.TenantDomain == "" {
		opts.TenantDomain = op.Issuer()
	}
	if opts.ClientID == "" {
		opts.ClientID = cmp.Or(opcfg.ClientID, "test-client")
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = cmp.Or(opcfg.ClientSecret, "test-secret")
	}
	if opts.AppURL == "" {
		opts.AppURL = srv.URL + basePath
	}
	if opts.CookieSecret == "" {
		opts.CookieSecret = testSecret
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.h = build(c)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	a.testApp = &testApp{t: t, op: op, client: c, srv: srv, browser: browser}
	return a
}

// htHandlerOnly builds Client.Handler().
func htHandlerOnly(c *Client) http.Handler { return c.Handler() }

// url returns the app's absolute URL of path.
func (a *htApp) url(path string) string { return a.srv.URL + path }

// origin returns the app's scheme://host:port.
func (a *htApp) origin() string { return a.srv.URL }

// do sends a request with the browser's cookies (redirects not followed)
// and returns the response with its body.
func (a *htApp) do(method, path string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(path, "/") {
		path = a.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, path, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.browser.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// startSignIn GETs the sign-in route path+query and returns its 302
// response and the authorization URL it redirects to.
func (a *htApp) startSignIn(pathAndQuery string) (*http.Response, string) {
	a.t.Helper()
	resp, body := a.get(pathAndQuery)
	if resp.StatusCode != http.StatusFound {
		a.t.Fatalf("GET %s: status %d, want 302: %s", pathAndQuery, resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, a.op.Issuer()+"/") {
		a.t.Fatalf("GET %s: Location %q is not at the provider %s", pathAndQuery, loc, a.op.Issuer())
	}
	return resp, loc
}

// signInVia runs the whole flow through the sign-in route at
// pathAndQuery and returns the callback's response and body.
func (a *htApp) signInVia(pathAndQuery string) (*http.Response, string) {
	a.t.Helper()
	_, loc := a.startSignIn(pathAndQuery)
	cb := a.op.Authorize(a.t, loc)
	return a.get(cb.String())
}

// newBrowser replaces the browser's cookie jar: a new visitor.
func (a *htApp) newBrowser() {
	jar, _ := cookiejar.New(nil)
	a.browser.Jar = jar
}

// cookieNamed returns the browser's cookie called name, or nil.
func (a *htApp) cookieNamed(name string) *http.Cookie {
	for _, ck := range a.cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// sessionCookies returns the browser's session cookies (session, session.N).
func (a *htApp) sessionCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range a.cookies() {
		if ck.Name == "session" || strings.HasPrefix(ck.Name, "session.") {
			out = append(out, ck)
		}
	}
	return out
}

// stateCookies returns the browser's state cookies (state.<state>).
func (a *htApp) stateCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range a.cookies() {
		if strings.HasPrefix(ck.Name, "state.") {
			out = append(out, ck)
		}
	}
	return out
}

// serve calls the app's handler directly with a request to path carrying
// cookies.
func (a *htApp) serve(method, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, a.srv.URL+path, nil)
	for _, ck := range cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// session returns the session the browser's cookies hold, or nil when they
// hold none. Any other error fails the test.
func (a *htApp) session() *Session {
	a.t.Helper()
	s, err := a.client.SessionWithResponse(httptest.NewRecorder(), a.request(http.MethodGet, "/"))
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		a.t.Fatalf("SessionWithResponse: %v", err)
	}
	return s
}

// htMintSession returns the Set-Cookie cookies of a new session s made by c,
// without a sign-in.
func htMintSession(t testing.TB, c *Client, s *Session) []*http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, c.appURL("/"), nil)
	st := c.requestState(w, r)
	if err := st.create(r.Context(), s); err != nil {
		t.Fatalf("creating a session: %v", err)
	}
	var out []*http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge >= 0 && ck.Value != "" {
			out = append(out, ck)
		}
	}
	if len(out) == 0 {
		t.Fatal("no session cookie was written")
	}
	return out
}

// htSetCookie returns the response's Set-Cookie cookie called name, or nil.
func htSetCookie(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// htWritesSession reports whether resp sets a live (non-expired, non-empty)
// session cookie.
func htWritesSession(resp *http.Response) bool {
	for _, ck := range resp.Cookies() {
		if (ck.Name == "session" || strings.HasPrefix(ck.Name, "session.")) && ck.Value != "" && ck.MaxAge >= 0 {
			return true
		}
	}
	return false
}

// htBrowserResolve resolves a Location header value against base as a
// browser would: tabs and newlines removed, backslashes read as slashes,
// leading and trailing C0 controls and spaces trimmed (WHATWG URL).
func htBrowserResolve(base, loc string) (*url.URL, error) {
	loc = strings.Trim(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	b, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return b.ResolveReference(u), nil
}

// htAssertSameOrigin fails unless loc, resolved against base as a browser
// would, is on origin (scheme://host:port) and its path does not start with
// "//".
func htAssertSameOrigin(t testing.TB, base, loc, origin, what string) {
	t.Helper()
	u, err := htBrowserResolve(base, loc)
	if err != nil {
		t.Errorf("%s: Location %q does not parse: %v", what, loc, err)
		return
	}
	if got := u.Scheme + "://" + u.Host; got != origin || u.User != nil || strings.HasPrefix(u.Path, "//") {
		t.Errorf("%s: Location %q resolves to %s (origin %s), want origin %s", what, loc, u, got, origin)
	}
}

// htClock is an adjustable clock for Client.now.
type htClock struct{ offset atomic.Int64 }

func (k *htClock) now() time.Time                    { return time.Now().Add(time.Duration(k.offset.Load())) }
func (k *htClock) advance(d time.Duration)           { k.offset.Add(int64(d)) }
func htUseClock(c *Client) *htClock                  { k := &htClock{}; c.now = k.now; return k }
func htQuery(t testing.TB, rawURL string) url.Values { return htParse(t, rawURL).Query() }

func htParse(t testing.TB, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parsing %q: %v", rawURL, err)
	}
	return u
}

// htMemStore is an in-memory SessionStore that counts Get calls: one Get per
// session decode.
type htMemStore struct {
	mu   sync.Mutex
	m    map[string]*Session
	gets atomic.Int64
}

func newHTMemStore() *htMemStore { return &htMemStore{m: make(map[string]*Session)} }

func (s *htMemStore) Get(_ context.Context, key string) (*Session, error) {
	s.gets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key].clone(), nil
}

func (s *htMemStore) Set(_ context.Context, key string, sess *Session, _ Lifetime) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = sess.clone()
	return nil
}

func (s *htMemStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// htClearEnv unsets every MONOCLOUD_AUTH_* variable for the test.
func htClearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MONOCLOUD_AUTH_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
}

// htSetEnv sets env vars for the test.
func htSetEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}
