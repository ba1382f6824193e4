package monocloud

// The test harness of the package: one application type, built from one
// appConfig, and one fake clock. The fakes the tests share are in
// fakes_test.go.
//
// A test that goes through HTTP starts an app with newTestApp, configured
// by one appConfig: a Client against a monocloudtest provider, served by an
// httptest server, and a browser (cookie jar, redirects not followed). get,
// do, signIn and signInVia drive it as a browser would; serve calls the
// handler directly, so that a panic fails the test.
//
// A test of GetTokens starts newTokensApp: the app answers GET /tokens and
// GET /session, runs on a tkClock shared with the provider, and call, tokens
// and httpTokens reach GetTokens in each of its forms.
//
// A test of the session service alone starts newSessionApp: a Client at
// https://app.example.com on a tkClock, whose sessions createSession,
// getSession, updateSession and destroySession drive through the (w, r)
// forms, its server unused. useClock puts any app's Client on a tkClock.
//
// Below the harness are the helpers that the tests of several units share:
// cookies and URLs, fixtures, sign-in transactions and back-channel logout,
// and assertions. Helpers that one unit's tests use live in its test file.

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/monocloudtest"
)

const testSecret = "a-test-cookie-secret-of-32-bytes!"

// testApp is an application using a Client.
type testApp struct {
	t       testing.TB
	op      *monocloudtest.Provider
	client  *Client
	srv     *httptest.Server
	browser *http.Client
	h       http.Handler // the app's handler, called directly by serve

	clock *tkClock                        // the Client's clock; nil: the real one
	mw    func(http.Handler) http.Handler // newTokensApp's middleware, protecting no route
	store *fakeStore                      // the Client's session store; nil: sessions live in the cookie
	t0    int64                           // the start on clock, unix seconds
}

// okHandler answers "ok <path>".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "ok "+r.URL.Path)
})

// appConfig is the configuration of an app of newTestApp. Its zero value
// is an app on a new provider, with the middleware protecting every route
// in front of okHandler.
type appConfig struct {
	opcfg    monocloudtest.Config         // the provider's configuration
	op       *monocloudtest.Provider      // a provider the test set up first (with opcfg); nil: a new one, unless opts names one
	basePath string                       // AppURL is the server's URL + basePath, unless opts.AppURL is set
	opts     Options                      // the Client's options, zero fields filled for the test (newTestClient)
	mw       *MiddlewareOptions           // the middleware's options
	build    func(c *Client) http.Handler // builds the app's handler; nil: the middleware in front of okHandler
	clock    *tkClock                     // the Client's clock, set before build runs; nil: the real one
	store    *fakeStore                   // the Client's session store, as a SessionStore only; nil: opts.Session.Store
}

// newTestApp starts the app cfg describes.
func newTestApp(t testing.TB, cfg appConfig) *testApp {
	t.Helper()
	op := cfg.op
	if op == nil && cfg.opts.TenantDomain == "" {
		op = monocloudtest.NewProvider(t, cfg.opcfg)
	}
	build := cfg.build
	if build == nil {
		build = func(c *Client) http.Handler { return c.AuthMiddleware(cfg.mw)(okHandler) }
	}
	if cfg.store != nil {
		cfg.opts.Session.Store = cfg.store.asStore()
	}
	a := &testApp{t: t, op: op, store: cfg.store}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }))
	t.Cleanup(a.srv.Close)
	a.client = newTestClient(t, cfg.opts, cfg.opcfg, op, a.srv.URL+cfg.basePath)
	if cfg.clock != nil {
		a.clock, a.client.now, a.t0 = cfg.clock, cfg.clock.Now, cfg.clock.Unix()
	}
	a.h = build(a.client)
	jar, _ := cookiejar.New(nil)
	a.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return a
}

// newTestClient returns New(opts) with the empty fields of opts set for a
// test: op's issuer (op may be nil when opts names one), opcfg's client credentials (or the provider's
// defaults), appURL and testSecret.
func newTestClient(t testing.TB, opts Options, opcfg monocloudtest.Config, op *monocloudtest.Provider, appURL string) *Client {
	t.Helper()
	if opts.TenantDomain == "" {
		opts.TenantDomain = op.Issuer()
	}
	opts.ClientID = cmp.Or(opts.ClientID, opcfg.ClientID, "test-client")
	opts.ClientSecret = cmp.Or(opts.ClientSecret, opcfg.ClientSecret, "test-secret")
	opts.AppURL = cmp.Or(opts.AppURL, appURL)
	opts.CookieSecret = cmp.Or(opts.CookieSecret, testSecret)
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// handlerOnly builds Client.Handler().
func handlerOnly(c *Client) http.Handler { return c.Handler() }

// url returns the app's absolute URL of path.
func (a *testApp) url(path string) string { return a.srv.URL + path }

// origin returns the app's scheme://host:port.
func (a *testApp) origin() string { return a.srv.URL }

// get sends a GET with the browser's cookies and returns the response with
// its body read into the returned string.
func (a *testApp) get(rawURL string) (*http.Response, string) {
	a.t.Helper()
	return a.do(http.MethodGet, rawURL, nil)
}

// do sends a request with the browser's cookies (redirects not followed)
// and returns the response with its body. A non-nil form is sent as an
// urlencoded body.
func (a *testApp) do(method, path string, form url.Values) (*http.Response, string) {
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

// signIn runs the whole sign-in flow through the app's sign-in route, the
// provider and the callback, and returns the callback's response, failing
// the test unless the callback redirects.
func (a *testApp) signIn(query string) *http.Response {
	a.t.Helper()
	resp, body := a.signInVia("/api/auth/signin" + query)
	if resp.StatusCode != http.StatusTemporaryRedirect {
		a.t.Fatalf("callback: status %d, want 307: %s", resp.StatusCode, body)
	}
	return resp
}

// startSignIn GETs the sign-in route path+query and returns its 307
// response and the authorization URL it redirects to.
func (a *testApp) startSignIn(pathAndQuery string) (*http.Response, string) {
	a.t.Helper()
	resp, body := a.get(pathAndQuery)
	if resp.StatusCode != http.StatusTemporaryRedirect {
		a.t.Fatalf("GET %s: status %d, want 307: %s", pathAndQuery, resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, a.op.Issuer()+"/") {
		a.t.Fatalf("GET %s: Location %q is not at the provider %s", pathAndQuery, loc, a.op.Issuer())
	}
	return resp, loc
}

// signInVia runs the whole flow through the sign-in route at
// pathAndQuery and returns the callback's response and body.
func (a *testApp) signInVia(pathAndQuery string) (*http.Response, string) {
	a.t.Helper()
	_, loc := a.startSignIn(pathAndQuery)
	cb := a.op.Authorize(a.t, loc)
	return a.get(cb.String())
}

// newBrowser replaces the browser's cookie jar: a new visitor.
func (a *testApp) newBrowser() {
	jar, _ := cookiejar.New(nil)
	a.browser.Jar = jar
}

// cookies returns the browser's cookies for the app.
func (a *testApp) cookies() []*http.Cookie {
	u, _ := url.Parse(a.srv.URL)
	return a.browser.Jar.Cookies(u)
}

// absorb stores resp's Set-Cookie headers in the browser's jar.
func (a *testApp) absorb(resp *http.Response) {
	u, _ := url.Parse(a.srv.URL)
	a.browser.Jar.SetCookies(u, resp.Cookies())
}

// cookieNamed returns the browser's cookie called name, or nil.
func (a *testApp) cookieNamed(name string) *http.Cookie {
	for _, ck := range a.cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// sessionCookies returns the browser's session cookies (session, session.N).
func (a *testApp) sessionCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range a.cookies() {
		if ck.Name == "session" || strings.HasPrefix(ck.Name, "session.") {
			out = append(out, ck)
		}
	}
	return out
}

// stateCookies returns the browser's state cookies (state.<state>).
func (a *testApp) stateCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range a.cookies() {
		if strings.HasPrefix(ck.Name, "state.") {
			out = append(out, ck)
		}
	}
	return out
}

// request returns a request to the app's path carrying the browser's cookies.
func (a *testApp) request(method, path string) *http.Request {
	r := httptest.NewRequest(method, a.srv.URL+path, nil)
	for _, ck := range a.cookies() {
		r.AddCookie(ck)
	}
	return r
}

// serve calls the app's handler directly with a request to path carrying
// cookies.
func (a *testApp) serve(method, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, a.srv.URL+path, nil)
	for _, ck := range cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// session returns the session the browser's cookies hold, or nil when they
// hold none, read without the middleware and without changing the jar. Any
// other error fails the test.
func (a *testApp) session() *Session {
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

// mutate changes the browser's session with fn, as UpdateSession would.
func (a *testApp) mutate(fn func(s *Session)) {
	a.t.Helper()
	r := a.request(http.MethodGet, "/")
	rec := httptest.NewRecorder()
	s, err := a.client.SessionWithResponse(rec, r)
	if err != nil {
		a.t.Fatalf("SessionWithResponse: %v", err)
	}
	fn(s)
	if err := a.client.UpdateSessionWithResponse(rec, r, s); err != nil {
		a.t.Fatalf("UpdateSessionWithResponse: %v", err)
	}
	a.absorb(rec.Result())
}

// useClock puts the Client on a tkClock (the provider keeps its own clock)
// and returns it.
func (a *testApp) useClock() *tkClock {
	a.clock = newTkClock()
	a.client.now = a.clock.Now
	return a.clock
}

// secondInstance returns another instance of the application: a client with
// the same configuration, sharing store, on a's clock.
func (a *testApp) secondInstance(store SessionStore) *Client {
	a.t.Helper()
	b := newTestClient(a.t, Options{Session: SessionOptions{Store: store}}, monocloudtest.Config{}, a.op, a.srv.URL)
	b.now = a.clock.Now
	return b
}

// protectNone protects no route, so helpers can be called without a session.
var protectNone = &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}}

// newTokensApp returns an app whose Client and provider run on a tkClock
// and whose server answers GET /tokens (GetTokens(ctx) under
// AuthMiddleware, options from the query) and GET /session, with no route
// protected.
func newTokensApp(t testing.TB, opcfg monocloudtest.Config, opts Options) *testApp {
	t.Helper()
	clock := newTkClock()
	if opcfg.Now == nil {
		opcfg.Now = clock.Now // tokens are issued and checked on one clock
	}
	var mw func(http.Handler) http.Handler
	a := newTestApp(t, appConfig{opcfg: opcfg, opts: opts, clock: clock, build: func(c *Client) http.Handler {
		mw = c.AuthMiddleware(protectNone)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
			tok, err := c.GetTokens(r.Context(), optionsFromQuery(r.URL.Query()))
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, tok)
		})
		mux.HandleFunc("GET /session", func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err != nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, s)
		})
		return mw(mux)
	}})
	a.mw = mw
	return a
}

func optionsFromQuery(q url.Values) *GetTokensOptions {
	o := &GetTokensOptions{Resource: q.Get("resource"), Scopes: q.Get("scopes"), ForceRefresh: q.Get("force") == "1"}
	if v := q.Get("refetch"); v != "" {
		b := v == "1"
		o.RefetchUserInfo = &b
	}
	return o
}

// defaultToken returns the session's first access token.
func (a *testApp) defaultToken() AccessToken {
	a.t.Helper()
	s := a.session()
	if s == nil || len(s.AccessTokens) == 0 {
		a.t.Fatalf("no access token in session %+v", s)
	}
	return s.AccessTokens[0]
}

// expireDefault moves the client's clock past the default token's expiry.
func (a *testApp) expireDefault() {
	a.clock.Set(time.Unix(a.defaultToken().AccessTokenExpiration+1, 0))
}

// tokensForm is one way of calling GetTokens.
type tokensForm struct {
	name string
	// underMiddleware serves the call under AuthMiddleware; otherwise it
	// is made on a bare request.
	underMiddleware bool
	call            func(c *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error)
}

var (
	formCtx = tokensForm{"Client.GetTokens(ctx)", true, func(c *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokens(r.Context(), o)
	}}
	formFromRequest = tokensForm{"Client.GetTokensFromRequest(r)", true, func(c *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokensFromRequest(r, o)
	}}
	formWithResponse = tokensForm{"Client.GetTokensWithResponse(w, r)", false, func(c *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokensWithResponse(w, r, o)
	}}
	formPkgCtx = tokensForm{"GetTokens(ctx)", true, func(_ *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokens(r.Context(), o)
	}}
	formPkgFromRequest = tokensForm{"GetTokensFromRequest(r)", true, func(_ *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokensFromRequest(r, o)
	}}
	formPkgWithResponse = tokensForm{"GetTokensWithResponse(w, r) with SetDefault", false, func(_ *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokensWithResponse(w, r, o)
	}}
)

// call runs GetTokens in form f with the browser's cookies, stores the
// response's cookies in the jar and returns the result and the response.
func (a *testApp) call(f tokensForm, o *GetTokensOptions) (*Tokens, *http.Response, error) {
	a.t.Helper()
	var (
		tok *Tokens
		err error
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err = f.call(a.client, w, r, o)
		w.WriteHeader(http.StatusOK)
	})
	rec := httptest.NewRecorder()
	req := a.request(http.MethodGet, "/tokens")
	if f.underMiddleware {
		a.mw(h).ServeHTTP(rec, req)
	} else {
		h.ServeHTTP(rec, req)
	}
	resp := rec.Result()
	a.absorb(resp)
	return tok, resp, err
}

// tokens is call with the context form.
func (a *testApp) tokens(o *GetTokensOptions) (*Tokens, error) {
	a.t.Helper()
	tok, _, err := a.call(formCtx, o)
	return tok, err
}

// mustTokens is tokens failing the test on error.
func (a *testApp) mustTokens(o *GetTokensOptions) *Tokens {
	a.t.Helper()
	tok, err := a.tokens(o)
	if err != nil {
		a.t.Fatalf("GetTokens(%+v): %v", o, err)
	}
	return tok
}

// httpTokens does a real GET /tokens?query with exactly cookies (not the
// jar) and returns the status, the decoded tokens and the Set-Cookie headers.
func (a *testApp) httpTokens(cookies []*http.Cookie, query string) (int, *Tokens, []*http.Cookie, error) {
	return a.httpTokensContext(context.Background(), cookies, query)
}

// httpTokensContext is httpTokens for a client that gives up when ctx ends
// (a closed tab, an aborted fetch).
func (a *testApp) httpTokensContext(ctx context.Context, cookies []*http.Cookie, query string) (int, *Tokens, []*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.srv.URL+"/tokens?"+query, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, nil, resp.Cookies(), errors.New(e["error"])
	}
	var tok Tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return resp.StatusCode, nil, nil, err
	}
	return resp.StatusCode, &tok, resp.Cookies(), nil
}

// newSessionApp returns an app for tests of the session service: a Client
// of opts at https://app.example.com (newRequest's) unless opts names its
// URL, on a new provider unless opts.TenantDomain names one, on a tkClock
// and, when withStore is set, with its sessions in a fakeStore.
func newSessionApp(t testing.TB, opts Options, withStore bool) *testApp {
	t.Helper()
	opts.AppURL = cmp.Or(opts.AppURL, "https://app.example.com")
	cfg := appConfig{opts: opts, clock: newTkClock()}
	if withStore {
		cfg.store = &fakeStore{}
	}
	return newTestApp(t, cfg)
}

// createSession starts a session (as the callback does) for a browser
// holding have.
func (a *testApp) createSession(have []*http.Cookie, s *Session) *http.Response {
	a.t.Helper()
	rec := httptest.NewRecorder()
	r := newRequest("/", have)
	if err := a.client.withResponse(rec, r, func(st *requestState) error { return st.create(r.Context(), s) }); err != nil {
		a.t.Fatalf("create: %v", err)
	}
	return rec.Result()
}

// getSession calls SessionWithResponse for a browser holding have.
func (a *testApp) getSession(have []*http.Cookie) (*Session, *http.Response, error) {
	rec := httptest.NewRecorder()
	s, err := a.client.SessionWithResponse(rec, newRequest("/", have))
	return s, rec.Result(), err
}

// updateSession calls UpdateSessionWithResponse for a browser holding have.
func (a *testApp) updateSession(have []*http.Cookie, s *Session) (*http.Response, error) {
	rec := httptest.NewRecorder()
	err := a.client.UpdateSessionWithResponse(rec, newRequest("/", have), s)
	return rec.Result(), err
}

// destroySession calls DestroySessionWithResponse for a browser holding have.
func (a *testApp) destroySession(have []*http.Cookie) *http.Response {
	rec := httptest.NewRecorder()
	a.client.DestroySessionWithResponse(rec, newRequest("/", have))
	return rec.Result()
}

// signedIn creates s and returns the browser's cookies.
func (a *testApp) signedIn(s *Session) []*http.Cookie {
	a.t.Helper()
	return applyCookies(nil, a.createSession(nil, s).Cookies())
}

// lifetime returns the lifetime in the browser's session cookie, checking
// that the store (if any) holds the same one.
func (a *testApp) lifetime(have []*http.Cookie) lifetime {
	a.t.Helper()
	sc := decodeSessionCookie(a.t, a.client, have)
	if a.store != nil {
		if sc.Session != nil {
			a.t.Errorf("cookie of a store session holds the session: %+v", sc.Session)
		}
		stored, ok := a.store.lifetime(sc.Key)
		if !ok {
			a.t.Fatalf("store has no entry for the cookie's key %q (keys %v)", sc.Key, a.store.keys())
		}
		if want := sc.Lifetime.public(); stored != want {
			a.t.Errorf("store lifetime = %+v, want the cookie's %+v", stored, want)
		}
	}
	return sc.Lifetime
}

// tkClock is a settable clock for Client.now and monocloudtest.Config.Now,
// safe for concurrent use.
type tkClock struct{ ns atomic.Int64 }

// newTkClock returns a clock stopped at the current second.
func newTkClock() *tkClock {
	c := &tkClock{}
	c.Set(time.Now().Truncate(time.Second))
	return c
}

func (c *tkClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *tkClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *tkClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *tkClock) Unix() int64             { return c.Now().Unix() }

// Cookies, requests and URLs.

// newCookie returns a request cookie.
func newCookie(name, value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }

// applyCookies applies Set-Cookie headers to the cookies a browser holds (one
// host, one path), returning the cookies it would send next, sorted by name.
// A cookie with Max-Age<=0 or an empty value is deleted.
func applyCookies(have, set []*http.Cookie) []*http.Cookie {
	m := make(map[string]string, len(have))
	for _, c := range have {
		m[c.Name] = c.Value
	}
	for _, c := range set {
		if c.MaxAge < 0 || c.Value == "" {
			delete(m, c.Name)
			continue
		}
		m[c.Name] = c.Value
	}
	out := make([]*http.Cookie, 0, len(m))
	for name, value := range m {
		out = append(out, &http.Cookie{Name: name, Value: value})
	}
	slices.SortFunc(out, func(a, b *http.Cookie) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// cookieFamily splits the Set-Cookie headers of resp for the session cookie
// called name into the names written with a value and the names expired.
func cookieFamily(set []*http.Cookie, name string) (written, expired []string) {
	for _, c := range set {
		if c.Name != name && !strings.HasPrefix(c.Name, name+".") {
			continue
		}
		if c.MaxAge < 0 || c.Value == "" {
			expired = append(expired, c.Name)
		} else {
			written = append(written, c.Name)
		}
	}
	slices.Sort(written)
	slices.Sort(expired)
	return written, expired
}

// newRequest returns a GET request to path carrying cookies.
func newRequest(path string, cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example.com"+path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// decodeSessionCookie returns the decrypted session cookie held by cookies.
func decodeSessionCookie(t testing.TB, c *Client, cookies []*http.Cookie) sessionCookie {
	t.Helper()
	single, chunked, _ := cookie.Find(newRequest("/", cookies).Header["Cookie"], c.cfg.opts.Session.Cookie.Name)
	value := cmp.Or(single, chunked)
	if value == "" {
		t.Fatalf("no session cookie among %v", cookieNames(cookies))
	}
	var sc sessionCookie
	if _, err := c.sessionCodec.Decode(c.cfg.opts.Session.Cookie.Name, value, &sc); err != nil {
		t.Fatalf("session cookie does not decode: %v", err)
	}
	return *sc.withUser()
}

func cookieNames(cookies []*http.Cookie) []string {
	var names []string
	for _, c := range cookies {
		names = append(names, c.Name)
	}
	return names
}

// mintSession returns the Set-Cookie cookies of a new session s made by c,
// without a sign-in.
func mintSession(t testing.TB, c *Client, s *Session) []*http.Cookie {
	t.Helper()
	cookies, err := c.EncodeSession(context.Background(), s)
	if err != nil {
		t.Fatalf("EncodeSession: %v", err)
	}
	return cookies
}

// setCookieNamed returns the response's Set-Cookie cookie called name, or nil.
func setCookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// writesSession reports whether resp sets a live (non-expired, non-empty)
// session cookie.
func writesSession(resp *http.Response) bool {
	for _, ck := range resp.Cookies() {
		if (ck.Name == "session" || strings.HasPrefix(ck.Name, "session.")) && ck.Value != "" && ck.MaxAge >= 0 {
			return true
		}
	}
	return false
}

func queryOf(t testing.TB, rawURL string) url.Values { return parseURL(t, rawURL).Query() }

func parseURL(t testing.TB, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parsing %q: %v", rawURL, err)
	}
	return u
}

// browserResolve resolves a Location header value against base as a
// browser would: tabs and newlines removed, backslashes read as slashes,
// leading and trailing C0 controls and spaces trimmed (WHATWG URL).
func browserResolve(base, loc string) (*url.URL, error) {
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

// Fixtures.

// setDefaultClient makes c the default client for the test.
func setDefaultClient(t testing.TB, c *Client) {
	defaultClient.mu.Lock()
	prev := defaultClient.client
	defaultClient.mu.Unlock()
	SetDefault(c)
	t.Cleanup(func() { SetDefault(prev) })
}

var adaClaims = monocloudtest.Config{Claims: map[string]any{"name": "Ada", "email": "ada@example.com", "groups": []any{"staff"}}}

func randomData(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// sampleSession returns a session like the callback's, with extraBytes
// random bytes of application data.
func sampleSession(extraBytes int) *Session {
	s := &Session{
		User:             User{"sub": "user-1", "name": "Ada"},
		IDToken:          "id-token",
		RefreshToken:     "refresh-token",
		AuthorizedScopes: "openid profile",
		AccessTokens:     []AccessToken{{AccessToken: "at", AccessTokenExpiration: 4102444800, Scopes: "openid profile", RequestedScopes: "openid profile"}},
	}
	if extraBytes > 0 {
		s.Extra = map[string]any{"data": randomData(extraBytes)}
	}
	return s
}

var storeModes = []struct {
	name  string
	store bool
}{{"Default Store", false}, {"Custom Store", true}}

// hostileURLs are return URLs that must never take the browser off the
// app's origin. {origin}, {host}, {hostname} and {port} are the app's.
var hostileURLs = []string{
	"//evil.com",
	"///evil.com",
	"////evil.com/x",
	"/\\evil.com",
	"\\\\evil.com",
	"\\/evil.com",
	"/\\/evil.com",
	"%2F%2Fevil.com",
	"/%2F%2Fevil.com",
	"/%2f%2fevil.com",
	"/%5Cevil.com",
	"/%5C%5Cevil.com",
	" //evil.com",
	"\t//evil.com",
	"/\t/evil.com",
	"/\n/evil.com",
	"/\r\n/evil.com",
	"\x00//evil.com",
	"/\x00/evil.com",
	"/%09/evil.com",
	"/%00/evil.com",
	"//evil.com%0d%0aSet-Cookie:x=y",
	"/%0d%0aLocation:%20https://evil.com",
	"/\u2028/evil.com",
	"/\u00a0/evil.com",
	"//evil\u3002com",
	"\u3002evil.com",
	"https://evil.com",
	"http://evil.com/path",
	"HTTPS://EVIL.COM",
	"https:evil.com",
	"https:/evil.com",
	"https:\\\\evil.com",
	"http:///evil.com",
	"http:evil.com",
	"http://user@evil.com",
	"{origin}@evil.com",
	"{origin}.evil.com",
	"http://evil.com\\@{host}",
	"http://evil.com#@{host}",
	"http://evil.com?@{host}",
	"http://{hostname}:{port}.evil.com/",
	"//{host}@evil.com",
	"http://{hostname}:1/",
	"https://{host}/",
	"ftp://{host}/",
	"{origin}//evil.com",
	"{origin}/\\evil.com",
	"{origin}/..//evil.com",
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	"javascript://%0aalert(1)",
	" javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"/..//evil.com",
	"/.%2e//evil.com",
	"/%2e%2e//evil.com",
	"/./evil.com",
	"evil.com",
	"@evil.com",
}

func expandURL(app *testApp, s string) string {
	u := parseURL(app.t, app.origin())
	return strings.NewReplacer("{origin}", app.origin(), "{host}", u.Host, "{hostname}", u.Hostname(), "{port}", u.Port()).Replace(s)
}

var adaGroupClaims = monocloudtest.Config{Claims: map[string]any{
	"name":          "Ada",
	"groups":        []any{"staff"},
	"CUSTOM_GROUPS": []any{"admin"},
	"teams":         []any{map[string]any{"id": "t-1", "name": "editors"}},
}}

// Sign-in transactions, back-channel logout and provider faults.

// stateCookieOf returns the state cookie resp sets and decodes it.
func stateCookieOf(t *testing.T, app *testApp, resp *http.Response) (*http.Cookie, *signInTxn) {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "state.") && ck.MaxAge > 0 {
			var as signInTxn
			if _, err := app.client.stateCodec.Decode(ck.Name, ck.Value, &as); err != nil {
				t.Fatalf("state cookie %s does not decode: %v", ck.Name, err)
			}
			return ck, &as
		}
	}
	t.Fatalf("no state cookie in %v", resp.Header["Set-Cookie"])
	return nil, nil
}

// errRecorder is an OnError hook recording the errors it gets and
// answering 418.
type errRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (h *errRecorder) hook(w http.ResponseWriter, r *http.Request, err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	w.WriteHeader(http.StatusTeapot)
	_, _ = io.WriteString(w, "custom error page")
}

func (h *errRecorder) last() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return h.errs[len(h.errs)-1]
}

// validLogoutClaims returns valid logout token claims for app, changed by
// overrides (a nil value deletes the claim).
func validLogoutClaims(app *testApp, overrides map[string]any) map[string]any {
	now := time.Now()
	claims := map[string]any{
		"iss":    app.op.Issuer(),
		"aud":    "test-client",
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"sub":    "user-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	for k, v := range overrides {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return claims
}

// postBackChannelLogout posts form to the app's back-channel logout route as the
// provider would (no browser cookies).
func postBackChannelLogout(t *testing.T, app *testApp, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := http.PostForm(app.url("/api/auth/backchannel-logout"), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// backChannelLogoutStatus serves a back-channel logout request with token and returns the status.
func backChannelLogoutStatus(app *testApp, token string) int {
	r := httptest.NewRequest(http.MethodPost, app.url("/api/auth/backchannel-logout"), strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, r)
	return w.Code
}

// providerKey returns the provider's current public key and key ID.
func providerKey(t *testing.T, op *monocloudtest.Provider) (*rsa.PublicKey, string) {
	t.Helper()
	resp, err := op.Client().Get(op.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v, %d keys", err, len(set.Keys))
	}
	return set.Keys[0].Key.(*rsa.PublicKey), set.Keys[0].KeyID
}

// tokenFault returns a token endpoint fault answering a successful token
// response with accessToken and, when set, idToken and refreshToken.
func tokenFault(accessToken, idToken, refreshToken string) monocloudtest.Fault {
	body := map[string]any{
		"access_token": accessToken,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"scope":        "openid profile email",
	}
	if idToken != "" {
		body["id_token"] = idToken
	}
	if refreshToken != "" {
		body["refresh_token"] = refreshToken
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return monocloudtest.Fault{Body: string(b)}
}

// callbackRequest sends the callback URL with exactly the given cookies.
func callbackRequest(t *testing.T, app *testApp, cb *url.URL, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, cb.String(), nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, r)
	return w
}

// startTransaction starts a sign-in and returns its state cookie and the
// callback URL the provider sends the browser to.
func startTransaction(t *testing.T, app *testApp) (*http.Cookie, *url.URL) {
	t.Helper()
	resp, loc := app.startSignIn("/api/auth/signin")
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "state.") {
			state = c
		}
	}
	if state == nil {
		t.Fatal("no state cookie")
	}
	return state, app.op.Authorize(t, loc)
}

func encodeState(t *testing.T, c *Client, state string, as *signInTxn) string {
	t.Helper()
	v, err := c.stateCodec.Encode(c.stateCookieName(state), as)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Assertions.

// asError returns err as a *T, failing the test if it is not one.
func asError[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

// assertSameOrigin fails unless loc, resolved against base as a browser
// would, is on origin (scheme://host:port) and its path does not start with
// "//".
func assertSameOrigin(t testing.TB, base, loc, origin, what string) {
	t.Helper()
	u, err := browserResolve(base, loc)
	if err != nil {
		t.Errorf("%s: Location %q does not parse: %v", what, loc, err)
		return
	}
	if got := u.Scheme + "://" + u.Host; got != origin || u.User != nil || strings.HasPrefix(u.Path, "//") {
		t.Errorf("%s: Location %q resolves to %s (origin %s), want origin %s", what, loc, u, got, origin)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertSameSession fails the test unless got and want have the same JSON.
func assertSameSession(t testing.TB, got, want *Session) {
	t.Helper()
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Fatalf("session = %.300s\nwant      %.300s", g, w)
	}
}

func assertNoSession(t testing.TB, s *Session, err error) {
	t.Helper()
	if !errors.Is(err, ErrNoSession) || s != nil {
		t.Fatalf("got session %+v, err %v; want ErrNoSession", s, err)
	}
}

// assertExpiresAll fails unless resp expires every name of names.
func assertExpiresAll(t testing.TB, resp *http.Response, cookieName string, names ...string) {
	t.Helper()
	written, expired := cookieFamily(resp.Cookies(), cookieName)
	if len(written) != 0 || !slices.Equal(expired, names) {
		t.Fatalf("Set-Cookie wrote %v and expired %v; want only %v expired", written, expired, names)
	}
}

// assertSessionServed checks cookies hold a session.
func assertSessionServed(t *testing.T, app *testApp, what string, cookies ...*http.Cookie) {
	t.Helper()
	if w := app.serve(http.MethodGet, "/api/auth/userinfo", cookies...); w.Code != http.StatusOK {
		t.Errorf("%s: userinfo %d, want 200 (a session)", what, w.Code)
	}
}

// assertGrants fails unless the provider saw want refresh grants and no
// refresh token reuse.
func assertGrants(t testing.TB, op *monocloudtest.Provider, want int) {
	t.Helper()
	if got := op.RefreshGrants(); got != want {
		t.Fatalf("refresh grants = %d, want %d", got, want)
	}
	if got := op.ReuseDetected(); got != 0 {
		t.Fatalf("provider detected %d refresh token reuses", got)
	}
}

// assertJSON fails unless resp is JSON equal to want.
func assertJSON(t *testing.T, resp *http.Response, body string, status int, want map[string]any) {
	t.Helper()
	var got map[string]any
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("%d %s %q, want %d JSON %v", resp.StatusCode, resp.Header.Get("Content-Type"), body, status, want)
	}
	if len(got) != len(want) {
		t.Errorf("body %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body %v, want %v", got, want)
		}
	}
}

func isValidation(err error, msg string) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Message == msg
}
