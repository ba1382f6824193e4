package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/e2e/realop"
)

// The end-to-end flows run the library against the real oidc-provider
// (e2e/realop). Every test starts its own provider and application, so
// the tests run in parallel and the provider's event counts belong to one
// test only.

const (
	flowClientID     = "flow-rp"
	flowClientSecret = "flow-rp-secret-0123456789abcdef0123456789"
	flowScopes       = "openid profile email"
	// flowSettle is how long an event count must stay put before "exactly
	// n" is believed: the provider's stdout is read asynchronously.
	flowSettle = 300 * time.Millisecond
)

var (
	flowAPIOne = realop.DefaultResources[0] // https://api-one.example.test, read:one
	flowAPITwo = realop.DefaultResources[1] // https://api-two.example.test, read:two
)

// flowConfig varies the application and provider of a test.
type flowConfig struct {
	// AccessTokenTTL of the provider (default 120s: nothing expires during
	// a test unless it says so).
	AccessTokenTTL time.Duration
	// ShortTimeout, when set, adds a second client with this
	// ResponseTimeout, mounted under /short (AppURL <app>/short, the same
	// cookie secret, so it reads the main client's sessions). Only requests
	// meant to time out go there: the main client keeps the library's
	// default timeout, so a loaded machine does not fail the other calls.
	ShortTimeout time.Duration
	UsePAR       bool
	// RevokeTokensOnSignOut sets the app's Options.RevokeTokensOnSignOut.
	RevokeTokensOnSignOut bool
	// Transport, when set, carries the client's calls to the provider.
	Transport http.RoundTripper
	// AuthMethod is the client's token_endpoint_auth_method, registered at
	// the provider and set as Options.ClientAuthMethod (default
	// client_secret_basic). A private_key_jwt client is registered without
	// a secret.
	AuthMethod string
	// JWKS is the client's public JWK Set registered at the provider.
	JWKS json.RawMessage
	// ClientSecret is the app's Options.ClientSecret (default
	// flowClientSecret, which is also the registered secret).
	ClientSecret string
	// ClientAssertionKey is the app's Options.ClientAssertionKey.
	ClientAssertionKey *monocloud.ClientAssertionKey
	// OnError is the app's Options.OnError.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// Scopes are the app's DefaultAuthParams.Scopes (default flowScopes).
	Scopes string
	// Store is the app's Options.Store.
	Store monocloud.SessionStore
	// UserInfo and RefetchUserInfo are the app's options of those names.
	UserInfo, RefetchUserInfo *bool
	// Routes, when set, adds routes to the app's mux, behind the middleware.
	Routes func(mux *http.ServeMux, c *monocloud.Client)
	// MTLSEndpointAliases are the provider's (see realop.Config).
	MTLSEndpointAliases map[string]string
	// Options, when set, changes the app's Options last.
	Options func(o *monocloud.Options)
	// Replica adds a second client with the same options, mounted under
	// /replica: it has its own cache of decoded sessions, so it decodes
	// every session cookie the main client writes.
	Replica bool
}

// flowApp is an application served by a monocloud.Client against a real
// provider: the middleware over a mux whose routes call GetTokens in every
// form and answer JSON.
type flowApp struct {
	t      *testing.T
	op     *realop.Provider
	client *monocloud.Client
	srv    *httptest.Server
	url    string

	mu           sync.Mutex
	errs         []error  // GetTokens errors, in order
	logoutTokens []string // logout tokens the provider posted to the app
}

// flowStart starts the app's server (its URL is needed for the client
// registration), then the provider, then the client.
func flowStart(t *testing.T, cfg flowConfig) *flowApp {
	t.Helper()
	app := &flowApp{t: t}
	var handler atomic.Pointer[http.Handler]
	app.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handler.Load()
		if h == nil {
			http.Error(w, "app not ready", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(app.srv.Close)
	app.url = app.srv.URL

	ttl := cfg.AccessTokenTTL
	if ttl == 0 {
		ttl = 120 * time.Second
	}
	registered := flowClientSecret
	if cfg.AuthMethod == "private_key_jwt" || cfg.AuthMethod == "self_signed_tls_client_auth" {
		registered = ""
	}
	app.op = realop.Start(t, realop.Config{
		Clients: []realop.Client{{
			ID:                     flowClientID,
			Secret:                 registered,
			RedirectURIs:           []string{app.url + "/api/auth/callback", app.url + "/short/api/auth/callback"},
			PostLogoutRedirectURIs: []string{app.url},
			BackchannelLogoutURI:   app.url + "/api/auth/backchannel-logout",
			AuthMethod:             cfg.AuthMethod,
			JWKS:                   cfg.JWKS,
		}},
		AccessTokenTTL:      ttl,
		Resources:           realop.DefaultResources,
		MTLSEndpointAliases: cfg.MTLSEndpointAliases,
	})

	opts := monocloud.Options{
		TenantDomain:      app.op.Issuer(), // http://127.0.0.1:port, kept as is
		ClientID:          flowClientID,
		ClientSecret:      flowClientSecret,
		AppURL:            app.url,
		CookieSecret:      flowRandomSecret(t),
		DefaultAuthParams: monocloud.AuthParams{Scopes: flowScopes},
		Resources: []monocloud.Indicator{
			{Resource: flowAPIOne.URL, Scopes: flowAPIOne.Scope},
			{Resource: flowAPITwo.URL, Scopes: flowAPITwo.Scope},
		},
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientAuthMethod:   cfg.AuthMethod,
		ClientAssertionKey: cfg.ClientAssertionKey,
		OnError:            cfg.OnError,
		Session:            monocloud.SessionOptions{Store: cfg.Store},
		UserInfo:           cfg.UserInfo,
		RefetchUserInfo:    cfg.RefetchUserInfo,
	}
	if cfg.Scopes != "" {
		opts.DefaultAuthParams.Scopes = cfg.Scopes
	}
	if cfg.ClientSecret != "" {
		opts.ClientSecret = cfg.ClientSecret
	}
	if cfg.UsePAR {
		opts.UsePAR = new(true)
	}
	opts.RevokeTokensOnSignOut = new(cfg.RevokeTokensOnSignOut)
	if cfg.Transport != nil {
		opts.HTTPClient = &http.Client{Transport: cfg.Transport}
	}
	if cfg.Options != nil {
		cfg.Options(&opts)
	}
	c, err := monocloud.New(opts)
	if err != nil {
		t.Fatalf("monocloud.New: %v", err)
	}
	app.client = c
	middleware := &monocloud.MiddlewareOptions{
		ProtectedRoutes: monocloud.Protect(`^/protected$`, `^/api/session$`),
	}

	// Outside the middleware: the package-level forms fall back to
	// monocloud.Default() (see SetDefault).
	root := http.NewServeMux()
	root.HandleFunc("GET /plain/tokens", app.tokensHandler(c))
	routes := func(c *monocloud.Client) http.Handler {
		mux := app.routes(c)
		if cfg.Routes != nil {
			cfg.Routes(mux, c)
		}
		return mux
	}
	root.Handle("/", c.AuthMiddleware(middleware)(routes(c)))
	if cfg.Replica {
		replica := opts
		replica.AppURL = app.url + "/replica"
		rc, err := monocloud.New(replica)
		if err != nil {
			t.Fatalf("monocloud.New (replica): %v", err)
		}
		root.Handle("/replica/", http.StripPrefix("/replica", rc.AuthMiddleware(middleware)(routes(rc))))
	}
	if cfg.ShortTimeout > 0 {
		short := opts
		short.AppURL = app.url + "/short"
		short.ResponseTimeout = cfg.ShortTimeout
		sc, err := monocloud.New(short)
		for i := 0; err != nil && i < 2; i++ { // discovery within the short timeout, on a busy machine
			sc, err = monocloud.New(short)
		}
		if err != nil {
			t.Fatalf("monocloud.New (short timeout): %v", err)
		}
		root.Handle("/short/", http.StripPrefix("/short", sc.AuthMiddleware(middleware)(app.routes(sc))))
	}

	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/auth/backchannel-logout" {
			// Keep a copy of the logout token, then let the library read it.
			body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if form, err := url.ParseQuery(string(body)); err == nil {
				app.mu.Lock()
				app.logoutTokens = append(app.logoutTokens, form.Get("logout_token"))
				app.mu.Unlock()
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		root.ServeHTTP(w, r)
	})
	handler.Store(&h)
	return app
}

// routes are the app's own routes, calling the library through c.
func (app *flowApp) routes(c *monocloud.Client) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /protected", func(w http.ResponseWriter, r *http.Request) {
		s, err := c.Session(r.Context())
		if err != nil {
			app.writeError(w, err)
			return
		}
		flowWriteJSON(w, http.StatusOK, map[string]any{"page": "protected", "sub": s.User.Subject()})
	})
	mux.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) {
		s, err := c.Session(r.Context())
		if err != nil {
			app.writeError(w, err)
			return
		}
		flowWriteJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /api/tokens", app.tokensHandler(c))

	return mux
}

// tokensHandler answers GetTokens as JSON, called in the form named by the
// query parameter form (ctx, req, resp, or pkg-ctx, pkg-req, pkg-resp for
// the package-level functions), with options from force, resource and scopes.
func (app *flowApp) tokensHandler(c *monocloud.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		opts := &monocloud.GetTokensOptions{
			ForceRefresh: q.Get("force") == "1",
			Resource:     q.Get("resource"),
			Scopes:       q.Get("scopes"),
		}
		var tok *monocloud.Tokens
		var err error
		switch form := q.Get("form"); form {
		case "", "ctx":
			tok, err = c.GetTokens(r.Context(), opts)
		case "req":
			tok, err = c.GetTokensFromRequest(r, opts)
		case "resp":
			tok, err = c.GetTokensWithResponse(w, r, opts)
		case "pkg-ctx":
			tok, err = monocloud.GetTokens(r.Context(), opts)
		case "pkg-req":
			tok, err = monocloud.GetTokensFromRequest(r, opts)
		case "pkg-resp":
			tok, err = monocloud.GetTokensWithResponse(w, r, opts)
		default:
			http.Error(w, "unknown form "+form, http.StatusBadRequest)
			return
		}
		if err != nil {
			app.writeError(w, err)
			return
		}
		flowWriteJSON(w, http.StatusOK, tok)
	}
}

// postLogoutToken posts a logout token to the app's back-channel logout
// route, as the provider does.
func (app *flowApp) postLogoutToken(t *testing.T, token string) *http.Response {
	t.Helper()
	resp, err := http.PostForm(app.url+"/api/auth/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatalf("POST back-channel logout: %v", err)
	}
	resp.Body.Close()
	return resp
}

// capturedLogoutTokens returns the logout tokens the provider delivered.
func (app *flowApp) capturedLogoutTokens() []string {
	app.mu.Lock()
	defer app.mu.Unlock()
	return append([]string(nil), app.logoutTokens...)
}

func flowRandomSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// flowError is the JSON body of an error answer of the app.
type flowError struct {
	Kind       string `json:"kind"`
	Code       string `json:"code,omitempty"`
	StatusCode int    `json:"statusCode,omitempty"`
	Message    string `json:"message"`
}

// writeError maps a library error to a status with errors.Is/As, records
// it for the test and answers JSON.
func (app *flowApp) writeError(w http.ResponseWriter, err error) {
	app.mu.Lock()
	app.errs = append(app.errs, err)
	app.mu.Unlock()
	var (
		oe *monocloud.OPError
		he *monocloud.HTTPError
		ve *monocloud.ValidationError
		te *monocloud.TokenError
	)
	body := flowError{Message: err.Error()}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, monocloud.ErrNoSession):
		status, body.Kind = http.StatusUnauthorized, "no_session"
	case errors.Is(err, monocloud.ErrNoRequestContext):
		status, body.Kind = http.StatusInternalServerError, "no_request_context"
	case errors.Is(err, context.DeadlineExceeded):
		status, body.Kind = http.StatusGatewayTimeout, "timeout"
	case errors.As(err, &oe):
		status, body.Kind, body.Code, body.StatusCode = http.StatusUnauthorized, "op", oe.Code, oe.StatusCode
	case errors.As(err, &he):
		status, body.Kind, body.StatusCode = http.StatusBadGateway, "http", he.StatusCode
	case errors.As(err, &te):
		status, body.Kind = http.StatusBadGateway, "token"
	case errors.As(err, &ve):
		status, body.Kind = http.StatusBadRequest, "validation"
	}
	flowWriteJSON(w, status, body)
}

// lastError returns the last error the app's handlers saw.
func (app *flowApp) lastError() error {
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.errs) == 0 {
		return nil
	}
	return app.errs[len(app.errs)-1]
}

func flowWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// flowBrowser returns a client with a cookie jar that does not follow
// redirects.
func flowBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// flowResponse is an answer of the app, its body read.
type flowResponse struct {
	*http.Response
	body []byte
}

func (r flowResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: %s: body is not JSON (%v): %s", r.Request.Method, r.Request.URL.Path, r.Status, err, r.body)
	}
}

// sessionSetCookies returns the response's Set-Cookie headers for the
// session cookie (session or session.N).
func (r flowResponse) sessionSetCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range r.Cookies() {
		if flowIsSessionCookie(ck.Name) {
			out = append(out, ck)
		}
	}
	return out
}

func flowIsSessionCookie(name string) bool {
	return name == "session" || strings.HasPrefix(name, "session.")
}

// get sends GET app.url+path with c.
func (app *flowApp) get(t *testing.T, c *http.Client, path string) flowResponse {
	t.Helper()
	return app.getWithCookie(t, c, path, "")
}

// getWithCookie sends GET app.url+path with c, adding an explicit Cookie
// header when cookie is not empty (for clients without a jar).
func (app *flowApp) getWithCookie(t *testing.T, c *http.Client, path, cookie string) flowResponse {
	t.Helper()
	resp, err := flowDo(c, app.url+path, cookie)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func flowDo(c *http.Client, u, cookie string) (flowResponse, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return flowResponse{}, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return flowResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return flowResponse{}, err
	}
	return flowResponse{Response: resp, body: body}, nil
}

// tokens calls GET /api/tokens with the query q and wants 200.
func (app *flowApp) tokens(t *testing.T, c *http.Client, q url.Values) (*monocloud.Tokens, flowResponse) {
	t.Helper()
	return app.tokensWithCookie(t, c, q, "")
}

func (app *flowApp) tokensWithCookie(t *testing.T, c *http.Client, q url.Values, cookie string) (*monocloud.Tokens, flowResponse) {
	t.Helper()
	resp := app.getWithCookie(t, c, "/api/tokens?"+q.Encode(), cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/tokens?%s: %s: %s", q.Encode(), resp.Status, resp.body)
	}
	var tok monocloud.Tokens
	resp.decode(t, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("GET /api/tokens?%s: no access token: %s", q.Encode(), resp.body)
	}
	return &tok, resp
}

// session reads the session through /api/session (no refresh).
func (app *flowApp) session(t *testing.T, c *http.Client) *monocloud.Session {
	t.Helper()
	resp := app.get(t, c, "/api/session")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/session: %s: %s", resp.Status, resp.body)
	}
	var s monocloud.Session
	resp.decode(t, &s)
	return &s
}

// signIn signs login in through the app's sign-in route with c, returning
// to returnURL, and checks that the callback redirected there with a
// session cookie.
func (app *flowApp) signIn(t *testing.T, c *http.Client, login, returnURL string) {
	t.Helper()
	app.signInFrom(t, c, app.url+"/api/auth/signin?"+url.Values{"return_url": {returnURL}}.Encode(), login, returnURL)
}

func (app *flowApp) signInFrom(t *testing.T, c *http.Client, start, login, returnURL string) {
	t.Helper()
	resp := app.op.SignIn(t, c, start, login)
	defer resp.Body.Close()
	if resp.Request.URL.Path != "/api/auth/callback" {
		t.Fatalf("sign-in ended at %s, want the app's callback", resp.Request.URL)
	}
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url+returnURL {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("callback answered %s Location=%q, want 307 to %s: %s", resp.Status, resp.Header.Get("Location"), app.url+returnURL, b)
	}
	if len(flowResponse{Response: resp}.sessionSetCookies()) == 0 {
		t.Fatalf("callback set no session cookie; Set-Cookie: %q", resp.Header.Values("Set-Cookie"))
	}
}

// sessionCookie returns the session cookies c's jar holds for the app, as a
// Cookie header value ("" when there is none).
func (app *flowApp) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(app.url)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		if flowIsSessionCookie(ck.Name) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// copySession puts the app's session cookies of from into to's jar.
func (app *flowApp) copySession(from, to *http.Client) {
	u, _ := url.Parse(app.url)
	var cks []*http.Cookie
	for _, ck := range from.Jar.Cookies(u) {
		if flowIsSessionCookie(ck.Name) {
			cks = append(cks, &http.Cookie{Name: ck.Name, Value: ck.Value, Path: "/"})
		}
	}
	to.Jar.SetCookies(u, cks)
}

// settled waits until the provider logged want events of this kind and
// checks that no more arrive within flowSettle.
func flowSettled(t *testing.T, op *realop.Provider, event, grantType string, want int) {
	t.Helper()
	if want > 0 {
		op.WaitCount(t, event, grantType, want, 10*time.Second)
	}
	time.Sleep(flowSettle)
	if got := op.Count(event, grantType); got != want {
		t.Errorf("provider events %s (grant_type %q) = %d, want exactly %d; events:\n%s", event, grantType, got, want, flowEvents(op))
	}
}

func flowEvents(op *realop.Provider) string {
	var lines []string
	for _, e := range op.Events() {
		lines = append(lines, e.Raw)
	}
	return strings.Join(lines, "\n")
}

// flowJWT decodes the payload of a JWT (no verification).
func flowJWT(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q…", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}

// flowAudience returns a JWT's aud as a list.
func flowAudience(claims map[string]any) []string {
	switch a := claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// flowWaitExpired sleeps until an access token expiring at exp (unix
// seconds) counts as expired for the library (30 s early).
func flowWaitExpired(t *testing.T, exp int64) {
	t.Helper()
	at := time.Unix(exp-29, 0).Add(50 * time.Millisecond)
	if d := time.Until(at); d > 0 {
		t.Logf("waiting %v for the access token to count as expired", d.Round(time.Millisecond))
		time.Sleep(d)
	}
}
