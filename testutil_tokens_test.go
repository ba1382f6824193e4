package monocloud

// Helpers of session_test.go and tokens_test.go. Names start with "tk" so
// they cannot clash with the helpers of the other test files of the package.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/monocloudtest"
)

// tkClock is a settable clock for Client.now, safe for concurrent use.
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

// tkStore is an in-memory SessionStore. It stores JSON copies, so callers
// never share maps with it, and counts its calls.
type tkStore struct {
	mu      sync.Mutex
	entries map[string]tkStoreEntry
	deletes []string
	sets    int
}

type tkStoreEntry struct {
	data     []byte
	lifetime Lifetime
}

func newTkStore() *tkStore { return &tkStore{entries: make(map[string]tkStoreEntry)} }

func (s *tkStore) Get(_ context.Context, key string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return nil, nil
	}
	var out Session
	if err := json.Unmarshal(e.data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *tkStore) Set(_ context.Context, key string, sess *Session, lt Lifetime) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = tkStoreEntry{data: data, lifetime: lt}
	s.sets++
	return nil
}

func (s *tkStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, key)
	s.deletes = append(s.deletes, key)
	return nil
}

func (s *tkStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *tkStore) entry(key string) (tkStoreEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	return e, ok
}

func (s *tkStore) deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deletes)
}

// tkBrowser applies Set-Cookie headers to the cookies a browser holds (one
// host, one path), returning the cookies it would send next, sorted by name.
// A cookie with Max-Age<=0 or an empty value is deleted.
func tkBrowser(have, set []*http.Cookie) []*http.Cookie {
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

// tkFamily splits the Set-Cookie headers of resp for the session cookie
// called name into the names written with a value and the names expired.
func tkFamily(set []*http.Cookie, name string) (written, expired []string) {
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

// tkRequest returns a GET request to path carrying cookies.
func tkRequest(path string, cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example.com"+path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// tkDecode returns the decrypted session cookie held by cookies.
func tkDecode(t testing.TB, c *Client, cookies []*http.Cookie) sessionCookie {
	t.Helper()
	single, chunked, _ := cookie.Join(cookies, c.cfg.sessionCookie.name)
	value := cmp.Or(single, chunked)
	if value == "" {
		t.Fatalf("no session cookie among %v", tkNames(cookies))
	}
	var sc sessionCookie
	if _, err := c.sessionCodec.Decode(c.cfg.sessionCookie.name, value, &sc); err != nil {
		t.Fatalf("session cookie does not decode: %v", err)
	}
	return sc
}

func tkNames(cookies []*http.Cookie) []string {
	var names []string
	for _, c := range cookies {
		names = append(names, c.Name)
	}
	return names
}

// tkApp is a testApp whose Client runs on an injected clock and whose
// server answers GET /tokens (GetTokens(ctx) under AuthMiddleware, options
// from the query) and GET /session, with no route protected.
type tkApp struct {
	*testApp
	clock *tkClock
	mw    func(http.Handler) http.Handler
}

// tkUnprotected protects no route, so helpers can be called without a session.
var tkUnprotected = &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}}

func newTkApp(t testing.TB, opcfg monocloudtest.Config, opts Options) *tkApp {
	t.Helper()
	clock := newTkClock()
	app := &tkApp{clock: clock}
	if opcfg.Now == nil {
		opcfg.Now = clock.Now // tokens are issued and checked on one clock
	}
	app.testApp = newTestApp(t, opcfg, opts, func(c *Client) http.Handler {
		c.now = clock.Now // before the server serves any request
		app.mw = c.AuthMiddleware(tkUnprotected)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
			tok, err := c.GetTokens(r.Context(), tkOptionsFromQuery(r.URL.Query()))
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
		return app.mw(mux)
	})
	return app
}

func tkOptionsFromQuery(q url.Values) *GetTokensOptions {
	o := &GetTokensOptions{Resource: q.Get("resource"), Scopes: q.Get("scopes"), ForceRefresh: q.Get("force") == "1"}
	if v := q.Get("refetch"); v != "" {
		b := v == "1"
		o.RefetchUserInfo = &b
	}
	return o
}

// absorb stores resp's Set-Cookie headers in the browser's jar.
func (a *tkApp) absorb(resp *http.Response) {
	u, _ := url.Parse(a.srv.URL)
	a.browser.Jar.SetCookies(u, resp.Cookies())
}

// session returns the session the browser's cookies hold (nil if none),
// read without the middleware and without changing the jar.
func (a *tkApp) session() *Session {
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
func (a *tkApp) mutate(fn func(s *Session)) {
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

// defaultToken returns the session's first access token.
func (a *tkApp) defaultToken() AccessToken {
	a.t.Helper()
	s := a.session()
	if s == nil || len(s.AccessTokens) == 0 {
		a.t.Fatalf("no access token in session %+v", s)
	}
	return s.AccessTokens[0]
}

// expireDefault moves the client's clock past the default token's expiry.
func (a *tkApp) expireDefault() {
	a.clock.Set(time.Unix(a.defaultToken().AccessTokenExpiration+1, 0))
}

// tkForm is one way of calling GetTokens.
type tkForm struct {
	name string
	// underMiddleware serves the call under AuthMiddleware; otherwise it
	// is made on a bare request.
	underMiddleware bool
	call            func(c *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error)
}

var (
	tkFormCtx = tkForm{"Client.GetTokens(ctx)", true, func(c *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokens(r.Context(), o)
	}}
	tkFormFromRequest = tkForm{"Client.GetTokensFromRequest(r)", true, func(c *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokensFromRequest(r, o)
	}}
	tkFormWithResponse = tkForm{"Client.GetTokensWithResponse(w, r)", false, func(c *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return c.GetTokensWithResponse(w, r, o)
	}}
	tkFormPkgCtx = tkForm{"GetTokens(ctx)", true, func(_ *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokens(r.Context(), o)
	}}
	tkFormPkgFromRequest = tkForm{"GetTokensFromRequest(r)", true, func(_ *Client, _ http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokensFromRequest(r, o)
	}}
	tkFormPkgWithResponse = tkForm{"GetTokensWithResponse(w, r) with SetDefault", false, func(_ *Client, w http.ResponseWriter, r *http.Request, o *GetTokensOptions) (*Tokens, error) {
		return GetTokensWithResponse(w, r, o)
	}}
)

// call runs GetTokens in form f with the browser's cookies, stores the
// response's cookies in the jar and returns the result and the response.
func (a *tkApp) call(f tkForm, o *GetTokensOptions) (*Tokens, *http.Response, error) {
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
func (a *tkApp) tokens(o *GetTokensOptions) (*Tokens, error) {
	a.t.Helper()
	tok, _, err := a.call(tkFormCtx, o)
	return tok, err
}

// mustTokens is tokens failing the test on error.
func (a *tkApp) mustTokens(o *GetTokensOptions) *Tokens {
	a.t.Helper()
	tok, err := a.tokens(o)
	if err != nil {
		a.t.Fatalf("GetTokens(%+v): %v", o, err)
	}
	return tok
}

// httpTokens does a real GET /tokens?query with exactly cookies (not the
// jar) and returns the status, the decoded tokens and the Set-Cookie headers.
func (a *tkApp) httpTokens(cookies []*http.Cookie, query string) (int, *Tokens, []*http.Cookie, error) {
	return a.httpTokensContext(context.Background(), cookies, query)
}

// httpTokensContext is httpTokens for a client that gives up when ctx ends
// (a closed tab, an aborted fetch).
func (a *tkApp) httpTokensContext(ctx context.Context, cookies []*http.Cookie, query string) (int, *Tokens, []*http.Cookie, error) {
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

// tkSetDefault makes c the default client for the test.
func tkSetDefault(t testing.TB, c *Client) {
	defaultClient.mu.Lock()
	prev := defaultClient.client
	defaultClient.mu.Unlock()
	SetDefault(c)
	t.Cleanup(func() { SetDefault(prev) })
}

// tkTransport fails the requests fail selects, and passes the others on.
type tkTransport struct {
	fail atomic.Pointer[func(*http.Request) bool]
}

func (tr *tkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f := tr.fail.Load(); f != nil && (*f)(r) {
		return nil, errors.New("tk: connection refused")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (tr *tkTransport) failPath(suffix string) {
	f := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, suffix) }
	tr.fail.Store(&f)
}

func (tr *tkTransport) heal() { tr.fail.Store(nil) }

// tkAs returns err as a *T, failing the test if it is not one.
func tkAs[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}
