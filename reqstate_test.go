package monocloud

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/monocloudtest"
)

// TestNewestOfSingleAndChunkedSessionWins: a browser that holds both a
// single session cookie and chunks (left by a write that could not expire
// the other form) is served the session signed in last, or the one that
// decodes, and the other form's cookies are expired.
func TestNewestOfSingleAndChunkedSessionWins(t *testing.T) {
	env := newSessionApp(t, Options{}, false)
	first, second, third := sampleSession(10), sampleSession(4000), sampleSession(20)
	oldSingle := env.signedIn(first)
	env.clock.Advance(time.Minute)
	chunks := env.signedIn(second) // session.0, .1, .2
	env.clock.Advance(time.Minute)
	newSingle := env.signedIn(third)
	// The same sign-in as oldSingle, updated later into chunks.
	resp, err := env.updateSession(oldSingle, second)
	if err != nil {
		t.Fatal(err)
	}
	updated := applyCookies(nil, resp.Cookies())
	if len(chunks) != 3 || len(updated) != 3 {
		t.Fatalf("chunked sessions hold %v and %v, want 3 cookies each", cookieNames(chunks), cookieNames(updated))
	}
	corrupt := func(cookies []*http.Cookie) []*http.Cookie {
		out := slices.Clone(cookies)
		last := *out[len(out)-1]
		last.Value = last.Value[:len(last.Value)-4] + "AAAA"
		out[len(out)-1] = &last
		return out
	}
	chunkNames := []string{"session.0", "session.1", "session.2"}
	for _, tc := range []struct {
		name        string
		cookies     []*http.Cookie
		want        *Session // nil: no session
		wantExpired []string
	}{
		{"chunks signed in later", slices.Concat(oldSingle, chunks), second, []string{"session"}},
		{"single signed in later", slices.Concat(chunks, newSingle), third, chunkNames},
		{"same sign-in, chunks updated later", slices.Concat(oldSingle, updated), second, []string{"session"}},
		{"newer chunks do not decode", slices.Concat(oldSingle, corrupt(chunks)), first, chunkNames},
		{"newer single does not decode", slices.Concat(corrupt(newSingle), chunks), second, []string{"session"}},
		{"neither decodes", slices.Concat(corrupt(newSingle), corrupt(chunks)), nil, append([]string{"session"}, chunkNames...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, resp, err := env.getSession(tc.cookies)
			if tc.want == nil {
				assertNoSession(t, got, err)
			} else if err != nil {
				t.Fatal(err)
			} else {
				assertSameSession(t, got, tc.want)
			}
			assertExpiresAll(t, resp, "session", tc.wantExpired...)
		})
	}
}

// signedInApp returns an app (middleware protecting everything) and the
// session cookie value of a real sign-in.
func signedInApp(t *testing.T) (*testApp, string) {
	t.Helper()
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	app.signInVia("/api/auth/signin")
	ck := app.cookieNamed("session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("no session cookie after sign-in: %v", app.cookies())
	}
	app.newBrowser()
	return app, ck.Value
}

// assertNoSessionServed sends cookies to a page, an API route and the userinfo
// route, calling the handler directly (a panic fails the test), and checks
// each answers as without a session.
func assertNoSessionServed(t *testing.T, app *testApp, what string, cookies ...*http.Cookie) {
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
		if writesSession(w.Result()) {
			t.Errorf("%s: GET %s wrote a session cookie", what, tt.path)
		}
	}
}

func TestBadSessionCookies(t *testing.T) {
	app, value := signedInApp(t)
	assertSessionServed(t, app, "the real cookie", newCookie("session", value))

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
			assertNoSessionServed(t, app, fmt.Sprintf("value %.40q", v), newCookie("session", v))
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
				assertNoSessionServed(t, app, fmt.Sprintf("byte %d set to %q", i, repl), newCookie("session", string(b)))
			}
		}
		if tested < 100 {
			t.Errorf("only %d tampered values tested", tested)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		step := max(1, len(value)/100)
		for n := 0; n < len(value); n += step {
			assertNoSessionServed(t, app, fmt.Sprintf("first %d bytes", n), newCookie("session", value[:n]))
		}
		for n := len(value) - 4; n < len(value); n++ {
			assertNoSessionServed(t, app, fmt.Sprintf("first %d bytes", n), newCookie("session", value[:n]))
		}
	})

	t.Run("oversized", func(t *testing.T) {
		big := strings.Repeat("A", 100<<10)
		assertNoSessionServed(t, app, "100 KB cookie", newCookie("session", big))
		assertNoSessionServed(t, app, "100 KB of a real value", newCookie("session", strings.Repeat(value, 100<<10/len(value)+1)))
		var chunks []*http.Cookie
		for i := range 20 {
			chunks = append(chunks, newCookie("session."+strconv.Itoa(i), strings.Repeat("B", 5000)))
		}
		assertNoSessionServed(t, app, "20 chunks of 5 KB", chunks...)
		// Through the real server too.
		req, _ := http.NewRequest(http.MethodGet, app.url("/api/auth/userinfo"), nil)
		req.AddCookie(newCookie("session", big))
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
		other := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{CookieSecret: "another-cookie-secret-of-32-bytes"}})
		other.signInVia("/api/auth/signin")
		foreign := other.sessionCookies()
		assertSessionServed(t, other, "the other app's own cookie", foreign...)
		assertNoSessionServed(t, app, "another secret's cookie", foreign...)
		// Minted without a sign-in as well.
		assertNoSessionServed(t, app, "another secret's minted cookie", mintSession(t, other.client, &Session{User: User{"sub": "user-1"}})...)
	})

	t.Run("a state cookie value as session cookie", func(t *testing.T) {
		resp, _ := app.startSignIn("/api/auth/signin")
		for _, c := range resp.Cookies() {
			assertNoSessionServed(t, app, "state cookie value", newCookie("session", c.Value))
		}
	})

	t.Run("chunks", func(t *testing.T) {
		a, b, c := value[:len(value)/3], value[len(value)/3:2*len(value)/3], value[2*len(value)/3:]
		// Positive controls: the value split into chunks is a session, and a
		// whole cookie wins over junk chunks.
		assertSessionServed(t, app, "session.0, session.1, session.2", newCookie("session.0", a), newCookie("session.1", b), newCookie("session.2", c))
		assertSessionServed(t, app, "session.1, session.0, session.2 (any order)", newCookie("session.1", b), newCookie("session.0", a), newCookie("session.2", c))
		assertSessionServed(t, app, "session and session.foo", newCookie("session", value), newCookie("session.foo", "x"))
		for _, tt := range []struct {
			name    string
			cookies []*http.Cookie
		}{
			{"session.foo", []*http.Cookie{newCookie("session.foo", value)}},
			{"session.", []*http.Cookie{newCookie("session.", value)}},
			{"session.x alone", []*http.Cookie{newCookie("session.x", "garbage")}},
			{"gap: session.0 and session.2", []*http.Cookie{newCookie("session.0", a), newCookie("session.2", b+c)}},
			{"gap: session.1 and session.2", []*http.Cookie{newCookie("session.1", a+b), newCookie("session.2", c)}},
			{"only session.1", []*http.Cookie{newCookie("session.1", value)}},
			{"chunks with session.foo", []*http.Cookie{newCookie("session.0", a), newCookie("session.1", b), newCookie("session.2", c), newCookie("session.foo", "x")}},
			{"chunks with session.", []*http.Cookie{newCookie("session.0", a), newCookie("session.1", b+c), newCookie("session.", "x")}},
			{"duplicate session.0", []*http.Cookie{newCookie("session.0", a), newCookie("session.0", a), newCookie("session.1", b+c)}},
			{"empty chunk", []*http.Cookie{newCookie("session.0", a+b), newCookie("session.1", ""), newCookie("session.2", c)}},
			{"session.00", []*http.Cookie{newCookie("session.00", a+b), newCookie("session.1", c)}},
			{"session.-1", []*http.Cookie{newCookie("session.-1", a), newCookie("session.0", b+c)}},
			{"session.+1", []*http.Cookie{newCookie("session.0", a+b), newCookie("session.+1", c)}},
			{"session.0x1", []*http.Cookie{newCookie("session.0", a+b), newCookie("session.0x1", c)}},
			{"chunk index 99", []*http.Cookie{newCookie("session.0", a+b+c), newCookie("session.99", "x")}},
			{"chunks in the wrong order", []*http.Cookie{newCookie("session.0", b), newCookie("session.1", a), newCookie("session.2", c)}},
			{"empty session and chunks of garbage", []*http.Cookie{newCookie("session", ""), newCookie("session.0", "x"), newCookie("session.1", "y")}},
		} {
			assertNoSessionServed(t, app, tt.name, tt.cookies...)
		}
	})
}

// junkFamilyHeader returns a Cookie header of n distinct cookies called
// name.<suffix> that the library never writes (suffixes of letters), with
// empty values, as compact as a client can send them.
func junkFamilyHeader(name string, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b strings.Builder
	for i := range n {
		b.WriteString(name + ".")
		for x := i; ; x /= len(letters) {
			b.WriteByte(letters[x%len(letters)])
			if x < len(letters) {
				break
			}
		}
		b.WriteByte(';')
	}
	return b.String()
}

// TestJunkSessionCookiesBoundTheAnswer: a request whose Cookie header holds
// thousands of session.<junk> names, beside every name the library writes,
// gets the library's names expired and nothing for the junk: at most
// cookie.MaxChunks+1 Set-Cookie lines, on a protected route and on the
// auth routes that read the session. Before, each junk name was expired
// through a scan of the pending cookies: quadratic CPU and one Set-Cookie
// line per name.
func TestJunkSessionCookiesBoundTheAnswer(t *testing.T) {
	a := newTestApp(t, appConfig{})
	library := []string{"session"}
	for i := range cookie.MaxChunks {
		library = append(library, "session."+strconv.Itoa(i))
	}
	header := junkFamilyHeader("session", 32000) + strings.Join(library, "=;") + "="
	for _, path := range []string{"/private", "/api/auth/signout", "/api/auth/userinfo"} {
		req, err := http.NewRequest(http.MethodGet, a.url(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", header)
		resp, err := noRedirects.Do(req) // over a real connection
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var expired []string
		for _, ck := range resp.Cookies() {
			if ck.Name == "session" || strings.HasPrefix(ck.Name, "session.") {
				expired = append(expired, ck.Name)
			}
		}
		slices.Sort(expired)
		if n := len(resp.Header["Set-Cookie"]); n > cookie.MaxChunks+2 {
			t.Errorf("GET %s: %d Set-Cookie lines, want at most %d", path, n, cookie.MaxChunks+2)
		}
		if !slices.Equal(expired, slices.Sorted(slices.Values(library))) {
			t.Errorf("GET %s: expired %d session cookies %v, want the library's %d", path, len(expired), expired, len(library))
		}
	}
}

// noRedirects is an HTTP client that returns redirects instead of following
// them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// BenchmarkJunkCookieFamily measures one unauthenticated request whose
// Cookie header holds 80,000 session.<junk> names, about 957 KB, near
// net/http's default 1 MB limit.
func BenchmarkJunkCookieFamily(b *testing.B) {
	a := newTestApp(b, appConfig{})
	header := junkFamilyHeader("session", 80000)
	b.ReportMetric(float64(len(header)), "header-bytes")
	r := httptest.NewRequest(http.MethodGet, a.url("/private"), nil)
	r.Header.Set("Cookie", header)
	b.ResetTimer()
	for range b.N {
		a.h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// TestOversizedSessionRecovers: a session that grows past the chunk limit
// is refused with cookie.ErrTooLarge and keeps its cookies, and a browser
// that holds a session of nearly every chunk can always sign out, every
// chunk expired, and sign back in with a small session.
func TestOversizedSessionRecovers(t *testing.T) {
	a := newTokensApp(t, monocloudtest.Config{}, Options{})
	a.signIn("")
	grow := func(n int) error {
		var err error
		rec := httptest.NewRecorder()
		a.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, serr := a.client.Session(r.Context())
			if serr != nil {
				t.Fatalf("Session: %v", serr)
			}
			s.User["bio"] = randomData(n)
			err = a.client.UpdateSession(r.Context(), s)
		})).ServeHTTP(rec, a.request(http.MethodGet, "/grow"))
		a.absorb(rec.Result())
		return err
	}
	if err := grow(22000); err != nil {
		t.Fatalf("growing the session to %d chunks: %v", len(a.sessionCookies()), err)
	}
	large := a.sessionCookies()
	if len(large) < cookie.MaxChunks/2 {
		t.Fatalf("the browser holds %d session cookies, want a large session", len(large))
	}
	if err := grow(40000); !errors.Is(err, cookie.ErrTooLarge) {
		t.Errorf("growing the session past %d chunks: %v, want cookie.ErrTooLarge", cookie.MaxChunks, err)
	}
	if got := a.sessionCookies(); !slices.EqualFunc(got, large, func(x, y *http.Cookie) bool { return x.Name == y.Name && x.Value == y.Value }) {
		t.Errorf("a refused growth changed the browser's cookies to %v", cookieNames(got))
	}
	if a.session() == nil {
		t.Fatal("a refused growth ended the session")
	}
	resp, _ := a.get(a.url("/api/auth/signout"))
	if resp.StatusCode >= 400 {
		t.Fatalf("sign-out answered %d", resp.StatusCode)
	}
	if left := a.sessionCookies(); len(left) != 0 {
		t.Errorf("after sign-out the browser holds %v", cookieNames(left))
	}
	a.signIn("")
	if n := len(a.sessionCookies()); n == 0 || n > 2 || a.session() == nil {
		t.Errorf("signed in again with %d session cookies", n)
	}
}

// TestLargeSessionWarns: writing session cookies of more than
// sessionWarnSize bytes raises one session_large event, at Warn; a
// sign-in's session raises none.
func TestLargeSessionWarns(t *testing.T) {
	var mu sync.Mutex
	var large []Event
	a := newTokensApp(t, monocloudtest.Config{}, Options{OnEvent: func(_ context.Context, e Event) {
		if e.Kind == EventSessionLarge {
			mu.Lock()
			large = append(large, e)
			mu.Unlock()
		}
	}})
	a.signIn("")
	a.mutate(func(s *Session) { s.User["bio"] = randomData(sessionWarnSize / 2) })
	size := 0
	for _, ck := range a.sessionCookies() {
		size += len(ck.Name) + len(ck.Value)
	}
	mu.Lock()
	defer mu.Unlock()
	if size <= sessionWarnSize || len(large) != 1 {
		t.Fatalf("session cookies of %d bytes raised %d session_large events, want 1", size, len(large))
	}
	if e := large[0]; e.Session == "" || e.Err == nil || e.level() != slog.LevelWarn {
		t.Errorf("session_large event %+v, want a session, an error and Warn", e)
	}
}
