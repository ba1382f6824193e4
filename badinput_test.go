package monocloud

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/monocloud/auth-go/monocloudtest"
)

// biSignedIn returns an app (middleware protecting everything) and the
// session cookie value of a real sign-in.
func biSignedIn(t *testing.T) (*testApp, string) {
	t.Helper()
	app := newTestApp(t, hdClaims, Options{}, nil, nil)
	app.signInVia("/api/auth/signin")
	ck := app.cookieNamed("session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("no session cookie after sign-in: %v", app.cookies())
	}
	app.newBrowser()
	return app, ck.Value
}

// biAssertNoSession sends cookies to a page, an API route and the userinfo
// route, calling the handler directly (a panic fails the test), and checks
// each answers as without a session.
func biAssertNoSession(t *testing.T, app *testApp, what string, cookies ...*http.Cookie) {
	t.Helper()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/page?x=1", http.StatusTemporaryRedirect},
		{"/api/data", http.StatusUnauthorized},
		{"/api/auth/userinfo", http.StatusNoContent},
	} {
		w := app.serve(http.MethodGet, tt.path, cookies...)
		if w.Code != tt.status {
			t.Errorf("%s: GET %s: %d, want %d (no session)", what, tt.path, w.Code, tt.status)
		}
		if htWritesSession(w.Result()) {
			t.Errorf("%s: GET %s wrote a session cookie", what, tt.path)
		}
	}
}

// biAssertSession checks cookies hold a session.
func biAssertSession(t *testing.T, app *testApp, what string, cookies ...*http.Cookie) {
	t.Helper()
	if w := app.serve(http.MethodGet, "/api/auth/userinfo", cookies...); w.Code != http.StatusOK {
		t.Errorf("%s: userinfo %d, want 200 (a session)", what, w.Code)
	}
}

func biCookie(name, value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }

func TestBadSessionCookies(t *testing.T) {
	app, value := biSignedIn(t)
	biAssertSession(t, app, "the real cookie", biCookie("session", value))

	t.Run("garbage", func(t *testing.T) {
		for _, v := range []string{
			"", "a", "null", "{}", "[]", "true", "0", "=", "==", "|||", "a|b|c", "MTIz|YWJj|ZGVm",
			"!!!!", "%%%%", "%00", "..", "-_-_", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
			base64.URLEncoding.EncodeToString([]byte(`{"key":"k","lifetime":{"c":1,"u":1},"session":{"user":{"sub":"x"}}}`)),
			base64.URLEncoding.EncodeToString([]byte("1700000000|" + base64.URLEncoding.EncodeToString([]byte("x")) + "|" + strings.Repeat("A", 43))),
			strings.Repeat("A", 4000),
			value + value,
			value[:len(value)/2] + "|" + value[len(value)/2:],
		} {
			biAssertNoSession(t, app, fmt.Sprintf("value %.40q", v), biCookie("session", v))
		}
	})

	t.Run("tampered", func(t *testing.T) {
		orig, err := base64.URLEncoding.DecodeString(value)
		if err != nil {
			t.Fatalf("the session cookie is not base64url: %v", err)
		}
		step := max(1, len(value)/80)
		tested := 0
		for i := 0; i < len(value); i += step {
			for _, repl := range []byte{'A', 'B', '_', '!'} {
				if value[i] == repl {
					continue
				}
				b := []byte(value)
				b[i] = repl
				if dec, err := base64.URLEncoding.DecodeString(string(b)); err == nil && bytes.Equal(dec, orig) {
					continue // only unused padding bits changed: the same cookie
				}
				tested++
				biAssertNoSession(t, app, fmt.Sprintf("byte %d set to %q", i, repl), biCookie("session", string(b)))
			}
		}
		if tested < 100 {
			t.Errorf("only %d tampered values tested", tested)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		step := max(1, len(value)/100)
		for n := 0; n < len(value); n += step {
			biAssertNoSession(t, app, fmt.Sprintf("first %d bytes", n), biCookie("session", value[:n]))
		}
		for n := len(value) - 4; n < len(value); n++ {
			biAssertNoSession(t, app, fmt.Sprintf("first %d bytes", n), biCookie("session", value[:n]))
		}
	})

	t.Run("oversized", func(t *testing.T) {
		big := strings.Repeat("A", 100<<10)
		biAssertNoSession(t, app, "100 KB cookie", biCookie("session", big))
		biAssertNoSession(t, app, "100 KB of a real value", biCookie("session", strings.Repeat(value, 100<<10/len(value)+1)))
		var chunks []*http.Cookie
		for i := range 20 {
			chunks = append(chunks, biCookie("session."+strconv.Itoa(i), strings.Repeat("B", 5000)))
		}
		biAssertNoSession(t, app, "20 chunks of 5 KB", chunks...)
		// Through the real server too.
		req, _ := http.NewRequest(http.MethodGet, app.url("/api/auth/userinfo"), nil)
		req.AddCookie(biCookie("session", big))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("100 KB cookie over HTTP: %d, want 204", resp.StatusCode)
		}
	})

	t.Run("a session cookie from another client secret", func(t *testing.T) {
		other := newTestApp(t, hdClaims, Options{CookieSecret: "another-cookie-secret-of-32-bytes"}, nil, nil)
		other.signInVia("/api/auth/signin")
		foreign := other.sessionCookies()
		biAssertSession(t, other, "the other app's own cookie", foreign...)
		biAssertNoSession(t, app, "another secret's cookie", foreign...)
		// Minted without a sign-in as well.
		biAssertNoSession(t, app, "another secret's minted cookie", htMintSession(t, other.client, &Session{User: User{"sub": "user-1"}})...)
	})

	t.Run("a state cookie value as session cookie", func(t *testing.T) {
		resp, _ := app.startSignIn("/api/auth/signin")
		for _, c := range resp.Cookies() {
			biAssertNoSession(t, app, "state cookie value", biCookie("session", c.Value))
		}
	})

	t.Run("chunks", func(t *testing.T) {
		a, b, c := value[:len(value)/3], value[len(value)/3:2*len(value)/3], value[2*len(value)/3:]
		// Positive controls: the value split into chunks is a session, and a
		// whole cookie wins over junk chunks.
		biAssertSession(t, app, "session.0, session.1, session.2", biCookie("session.0", a), biCookie("session.1", b), biCookie("session.2", c))
		biAssertSession(t, app, "session.1, session.0, session.2 (any order)", biCookie("session.1", b), biCookie("session.0", a), biCookie("session.2", c))
		biAssertSession(t, app, "session and session.foo", biCookie("session", value), biCookie("session.foo", "x"))
		for _, tt := range []struct {
			name    string
			cookies []*http.Cookie
		}{
			{"session.foo", []*http.Cookie{biCookie("session.foo", value)}},
			{"session.", []*http.Cookie{biCookie("session.", value)}},
			{"session.x alone", []*http.Cookie{biCookie("session.x", "garbage")}},
			{"gap: session.0 and session.2", []*http.Cookie{biCookie("session.0", a), biCookie("session.2", b+c)}},
			{"gap: session.1 and session.2", []*http.Cookie{biCookie("session.1", a+b), biCookie("session.2", c)}},
			{"only session.1", []*http.Cookie{biCookie("session.1", value)}},
			{"chunks with session.foo", []*http.Cookie{biCookie("session.0", a), biCookie("session.1", b), biCookie("session.2", c), biCookie("session.foo", "x")}},
			{"chunks with session.", []*http.Cookie{biCookie("session.0", a), biCookie("session.1", b+c), biCookie("session.", "x")}},
			{"duplicate session.0", []*http.Cookie{biCookie("session.0", a), biCookie("session.0", a), biCookie("session.1", b+c)}},
			{"empty chunk", []*http.Cookie{biCookie("session.0", a+b), biCookie("session.1", ""), biCookie("session.2", c)}},
			{"session.00", []*http.Cookie{biCookie("session.00", a+b), biCookie("session.1", c)}},
			{"session.-1", []*http.Cookie{biCookie("session.-1", a), biCookie("session.0", b+c)}},
			{"session.+1", []*http.Cookie{biCookie("session.0", a+b), biCookie("session.+1", c)}},
			{"session.0x1", []*http.Cookie{biCookie("session.0", a+b), biCookie("session.0x1", c)}},
			{"chunk index 99", []*http.Cookie{biCookie("session.0", a+b+c), biCookie("session.99", "x")}},
			{"chunks in the wrong order", []*http.Cookie{biCookie("session.0", b), biCookie("session.1", a), biCookie("session.2", c)}},
			{"empty session and chunks of garbage", []*http.Cookie{biCookie("session", ""), biCookie("session.0", "x"), biCookie("session.1", "y")}},
		} {
			biAssertNoSession(t, app, tt.name, tt.cookies...)
		}
	})
}

// biCallbackRequest sends the callback URL with exactly the given cookies.
func biCallbackRequest(t *testing.T, app *testApp, cb *url.URL, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, cb.String(), nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, r)
	return w
}

// biTransaction starts a sign-in and returns its state cookie and the
// callback URL the provider sends the browser to.
func biTransaction(t *testing.T, app *testApp) (*http.Cookie, *url.URL) {
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

func TestBadCallbacks(t *testing.T) {
	app := newTestApp(t, hdClaims, Options{}, nil, nil)
	refused := func(t *testing.T, what string, w *httptest.ResponseRecorder) {
		t.Helper()
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400: %s", what, w.Code, w.Body)
		}
		if htWritesSession(w.Result()) {
			t.Errorf("%s: a session cookie was written", what)
		}
	}

	t.Run("state param without cookie", func(t *testing.T) {
		_, cb := biTransaction(t, app)
		refused(t, "no cookie", biCallbackRequest(t, app, cb))
	})

	t.Run("cookie of another transaction", func(t *testing.T) {
		stateA, cbA := biTransaction(t, app)
		stateB, _ := biTransaction(t, app)
		refused(t, "only B's cookie", biCallbackRequest(t, app, cbA, stateB))
		refused(t, "B's value under A's name", biCallbackRequest(t, app, cbA, biCookie(stateA.Name, stateB.Value)))
		// A's own cookie still completes A.
		if w := biCallbackRequest(t, app, cbA, stateA); w.Code != http.StatusFound || !htWritesSession(w.Result()) {
			t.Errorf("A's own cookie: %d", w.Code)
		}
	})

	t.Run("tampered state cookie", func(t *testing.T) {
		state, cb := biTransaction(t, app)
		v := []byte(state.Value)
		for _, i := range []int{0, len(v) / 2, len(v) - 5} {
			b := bytes.Clone(v)
			b[i] ^= 1
			refused(t, fmt.Sprintf("byte %d flipped", i), biCallbackRequest(t, app, cb, biCookie(state.Name, string(b))))
		}
		refused(t, "truncated", biCallbackRequest(t, app, cb, biCookie(state.Name, state.Value[:len(state.Value)/2])))
		refused(t, "empty", biCallbackRequest(t, app, cb, biCookie(state.Name, "")))
		// The untampered cookie still works: refused attempts did not use it up.
		if w := biCallbackRequest(t, app, cb, state); w.Code != http.StatusFound {
			t.Errorf("the real cookie after tampered attempts: %d", w.Code)
		}
	})

	t.Run("state cookie from another client secret", func(t *testing.T) {
		other := newTestApp(t, monocloudtest.Config{}, Options{CookieSecret: "another-cookie-secret-of-32-bytes"}, nil, nil)
		state, _ := biTransaction(t, other)
		_, cb := biTransaction(t, app)
		q := cb.Query()
		q.Set("state", strings.TrimPrefix(state.Name, "state."))
		cb.RawQuery = q.Encode()
		refused(t, "foreign state cookie", biCallbackRequest(t, app, cb, state))
	})

	t.Run("hostile state values", func(t *testing.T) {
		for _, s := range []string{"", " ", "a;b", "a,b", `a"b`, strings.Repeat("s", 200), "../x", "%00", "x\x00y"} {
			cb := &url.URL{Path: "/api/auth/callback", RawQuery: url.Values{"state": {s}, "code": {"c"}}.Encode()}
			cb.Scheme, cb.Host = "http", strings.TrimPrefix(app.origin(), "http://")
			refused(t, fmt.Sprintf("state %q", s), biCallbackRequest(t, app, cb, biCookie("state."+url.PathEscape(s), "x")))
		}
	})

	t.Run("missing code", func(t *testing.T) {
		state, cb := biTransaction(t, app)
		for _, code := range []string{"", "del"} {
			u := *cb
			q := u.Query()
			if code == "del" {
				q.Del("code")
			} else {
				q.Set("code", "")
			}
			u.RawQuery = q.Encode()
			refused(t, "code "+code, biCallbackRequest(t, app, &u, state))
		}
	})

	t.Run("unknown code", func(t *testing.T) {
		state, cb := biTransaction(t, app)
		q := cb.Query()
		q.Set("code", "forged-code")
		cb.RawQuery = q.Encode()
		refused(t, "forged code", biCallbackRequest(t, app, cb, state))
	})

	t.Run("replayed callback", func(t *testing.T) {
		state, cb := biTransaction(t, app)
		grants := app.op.CodeGrants()
		first := biCallbackRequest(t, app, cb, state)
		if first.Code != http.StatusFound || !htWritesSession(first.Result()) {
			t.Fatalf("first callback: %d", first.Code)
		}
		var session []*http.Cookie
		for _, c := range first.Result().Cookies() {
			if strings.HasPrefix(c.Name, "session") && c.MaxAge >= 0 {
				session = append(session, c)
			}
		}
		second := biCallbackRequest(t, app, cb, append([]*http.Cookie{state}, session...)...)
		refused(t, "replay", second)
		if n := app.op.CodeGrants() - grants; n != 1 {
			t.Errorf("%d code grants, want 1: the replay reached the token endpoint", n)
		}
		for _, c := range second.Result().Cookies() {
			if strings.HasPrefix(c.Name, "session") {
				t.Errorf("the replay touched the session cookie: %v", c)
			}
		}
		biAssertSession(t, app, "the first session after the replay", session...)
		// Without the session cookie, too.
		refused(t, "replay without session", biCallbackRequest(t, app, cb, state))
	})

	t.Run("oversized form_post body", func(t *testing.T) {
		body := "state=x&code=" + strings.Repeat("a", 100<<10)
		r := httptest.NewRequest(http.MethodPost, app.url("/api/auth/callback"), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		app.h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%d, want 400 or 413", w.Code)
		}
	})

	t.Run("malformed form_post body", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, app.url("/api/auth/callback"), strings.NewReader("state=%zz&code=%"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		app.h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%d, want 400", w.Code)
		}
	})
}

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

func biExpand(app *testApp, s string) string {
	u := htParse(app.t, app.origin())
	return strings.NewReplacer("{origin}", app.origin(), "{host}", u.Host, "{hostname}", u.Hostname(), "{port}", u.Port()).Replace(s)
}

// TestHostileReturnURLs runs every hostile return_url through the real
// sign-in and callback: the final redirect stays on the app's origin.
func TestHostileReturnURLs(t *testing.T) {
	if len(hostileURLs) < 30 {
		t.Fatalf("only %d hostile URLs", len(hostileURLs))
	}
	app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, nil)
	for i, raw := range hostileURLs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			v := biExpand(app, raw)
			app.newBrowser()
			resp, body := app.get("/api/auth/signin?return_url=" + url.QueryEscape(v))
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("return_url %q: sign-in %d: %s", v, resp.StatusCode, body)
			}
			cb := app.op.Authorize(t, resp.Header.Get("Location"))
			resp, body = app.get(cb.String())
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("return_url %q: callback %d: %s", v, resp.StatusCode, body)
			}
			htAssertSameOrigin(t, cb.String(), resp.Header.Get("Location"), app.origin(), fmt.Sprintf("return_url %q", v))
		})
	}
	// A raw, unencoded query is read the same way.
	for _, q := range []string{"return_url=//evil.com", "return_url=/\\evil.com", "return_url=%2F%2Fevil.com", "return_url=https://evil.com&return_url=/ok"} {
		app.newBrowser()
		resp, _ := app.get("/api/auth/signin?" + q)
		cb := app.op.Authorize(t, resp.Header.Get("Location"))
		resp, _ = app.get(cb.String())
		htAssertSameOrigin(t, cb.String(), resp.Header.Get("Location"), app.origin(), "query "+q)
	}
}

// TestHostilePostLogoutURLs runs every hostile post_logout_url through
// sign-out: without a session, with a session and federated sign-out (the
// provider is told to return there), and with FederatedSignOut false.
func TestHostilePostLogoutURLs(t *testing.T) {
	for _, mode := range []string{"no session", "federated", "not federated"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{}
			if mode == "not federated" {
				opts.FederatedSignOut = new(false)
			}
			app := newTestApp(t, monocloudtest.Config{}, opts, nil, nil)
			for i, raw := range hostileURLs {
				v := biExpand(app, raw)
				var cookies []*http.Cookie
				if mode != "no session" {
					cookies = htMintSession(t, app.client, &Session{User: User{"sub": "user-1"}, IDToken: "id-token"})
				}
				w := app.serve(http.MethodGet, "/api/auth/signout?post_logout_url="+url.QueryEscape(v), cookies...)
				if w.Code != http.StatusFound {
					t.Errorf("%d %q: status %d", i, v, w.Code)
					continue
				}
				loc := w.Header().Get("Location")
				if mode == "federated" {
					if !strings.HasPrefix(loc, app.op.Issuer()+"/") {
						t.Errorf("%d %q: Location %q is not the provider", i, v, loc)
						continue
					}
					loc = htQuery(t, loc).Get("post_logout_redirect_uri")
				}
				htAssertSameOrigin(t, app.url("/api/auth/signout"), loc, app.origin(), fmt.Sprintf("%d post_logout_url %q", i, v))
			}
		})
	}
}

// TestProtectedPatternsOnNonCanonicalPaths checks that a protected pattern
// cannot be bypassed by spelling the path differently. http.FileServer (and
// other handlers and routers that clean paths, unlike http.ServeMux which
// redirects) serves //admin/secret.txt as /admin/secret.txt.
func TestProtectedPatternsOnNonCanonicalPaths(t *testing.T) {
	files := http.FileServerFS(fstest.MapFS{"admin/secret.txt": {Data: []byte("top secret")}, "public.txt": {Data: []byte("public")}})
	app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, func(c *Client) http.Handler {
		return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: Protect("^/admin")})(files)
	})
	for _, p := range []string{"/admin/secret.txt", "//admin/secret.txt", "/./admin/secret.txt", "/x/../admin/secret.txt", "/%61dmin/secret.txt", "/public.txt/../admin/secret.txt"} {
		t.Run(p, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
			u, err := url.ParseRequestURI(p)
			if err != nil {
				t.Fatal(err)
			}
			r.RequestURI, r.URL.Path, r.URL.RawPath = p, u.Path, u.RawPath
			w := httptest.NewRecorder()
			app.h.ServeHTTP(w, r)
			if strings.Contains(w.Body.String(), "top secret") {
				t.Errorf("%s: the protected file was served without a session (status %d)", p, w.Code)
			}
		})
	}
	// Control: unprotected files are served.
	if w := app.serve(http.MethodGet, "/public.txt"); w.Code != http.StatusOK || w.Body.String() != "public" {
		t.Errorf("/public.txt: %d %q", w.Code, w.Body)
	}
}

// FuzzReturnURLSignIn: whatever return_url a sign-in gets, the return URL
// kept in its state cookie is on the app's origin.
func FuzzReturnURLSignIn(f *testing.F) {
	for _, s := range hostileURLs {
		f.Add(s)
	}
	f.Add("/ok?x=1#y")
	op := monocloudtest.NewProvider(f, monocloudtest.Config{})
	const appURL = "https://app.example.com/base"
	c, err := New(Options{TenantDomain: op.Issuer(), ClientID: "test-client", ClientSecret: "test-secret", AppURL: appURL, CookieSecret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	h := c.Handler()
	f.Fuzz(func(t *testing.T, ret string) {
		ret = strings.NewReplacer("{origin}", "https://app.example.com", "{host}", "app.example.com", "{hostname}", "app.example.com", "{port}", "443").Replace(ret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, appURL+"/api/auth/signin?return_url="+url.QueryEscape(ret), nil))
		if w.Code != http.StatusFound {
			t.Fatalf("return_url %q: status %d", ret, w.Code)
		}
		cks := w.Result().Cookies()
		if len(cks) != 1 {
			t.Fatalf("cookies %v", cks)
		}
		var as authState
		if _, err := c.stateCodec.Decode(cks[0].Name, cks[0].Value, &as); err != nil {
			t.Fatal(err)
		}
		htAssertSameOrigin(t, appURL+"/api/auth/callback", as.ReturnURL, "https://app.example.com", fmt.Sprintf("return_url %q", ret))
	})
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
