package monocloud

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/wire"
	"github.com/monocloud/auth-go/monocloudtest"
)

// wireSamples are session cookies of each shape: signed in through the
// test provider, in store mode, and with every kind of claim.
func wireSamples(tb testing.TB) map[string]*sessionCookie {
	tb.Helper()
	app := newTestApp(tb, appConfig{opcfg: monocloudtest.Config{Claims: map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
		"groups": []any{"staff", "admin"},
	}}})
	app.signIn("")
	signedIn := decodeSessionCookie(tb, app.client, app.cookies())
	rich := sampleSession(10)
	rich.User["address"] = map[string]any{"country": "UK", "lines": []any{"1 Main St", nil}}
	rich.User["updated_at"] = 1.7e9
	rich.User["score"] = -0.5
	rich.Extra["tenant"] = struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}{7, "acme"}
	rich.AuthorizedResources = "https://api.example.com"
	return map[string]*sessionCookie{
		"signed in":  &signedIn,
		"store mode": {Key: newKey(), Lifetime: lifetime{C: 1, U: 2, E: 3}, Version: tokenVersion("rt")},
		"rich":       {Key: "not hex: a key of an older version", Lifetime: lifetime{C: -1}, Session: rich},
		"empty":      {Session: &Session{User: User{}}},
	}
}

func TestSessionCookieBinaryRoundTrip(t *testing.T) {
	for name, sc := range wireSamples(t) {
		t.Run(name, func(t *testing.T) {
			p, err := sc.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got sessionCookie
			if err := got.UnmarshalBinary(p); err != nil {
				t.Fatal(err)
			}
			// What a JSON cookie held, except that nothing is lost.
			if gotJSON, wantJSON := mustJSON(t, got.withUser()), mustJSON(t, sc); gotJSON != wantJSON {
				t.Errorf("decoded %s, want %s", gotJSON, wantJSON)
			}
			// Re-encoded from the encoded claims, and from the decoded ones.
			if again, err := got.MarshalBinary(); err != nil || !bytes.Equal(again, p) {
				t.Errorf("re-encoded %x, %v; want %x", again, err, p)
			}
			if again, err := got.withUser().MarshalBinary(); err != nil || !bytes.Equal(again, p) {
				t.Errorf("re-encoded with the claims decoded: %x, %v; want %x", again, err, p)
			}
		})
	}
}

// TestSessionCookieKeepsNilAndEmpty checks what JSON did not: nil and
// empty claims differ, and each re-encodes as it was. A session without
// claims is served with an empty User.
func TestSessionCookieKeepsNilAndEmpty(t *testing.T) {
	var encoded [2][]byte
	for i, user := range []User{nil, {}} {
		sc := &sessionCookie{Key: "k", Session: &Session{User: user}}
		p, err := sc.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got sessionCookie
		if err := got.UnmarshalBinary(p); err != nil {
			t.Fatal(err)
		}
		if again, err := got.MarshalBinary(); err != nil || !bytes.Equal(again, p) {
			t.Errorf("user %#v re-encoded as %x, %v; want %x", user, again, err, p)
		}
		if u := got.userClaims(); u == nil || len(u) != 0 {
			t.Errorf("user %#v served as %#v, want empty", user, u)
		}
		if got.Session.Extra != nil || got.Session.AccessTokens != nil {
			t.Errorf("decoded extra %#v, access tokens %#v; want nil, nil", got.Session.Extra, got.Session.AccessTokens)
		}
		encoded[i] = p
	}
	if bytes.Equal(encoded[0], encoded[1]) {
		t.Error("nil and empty claims encode alike")
	}
}

func TestSessionCookieUnmarshalRejects(t *testing.T) {
	p, err := wireSamples(t)["signed in"].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wrongVersion := bytes.Clone(p)
	n, k := binary.Uvarint(p) // the strings, then the version
	wrongVersion[k+int(n)]++
	inputs := map[string][]byte{
		"empty":          nil,
		"trailing byte":  append(bytes.Clone(p), 0),
		"wrong version":  wrongVersion,
		"truncated by 1": p[:len(p)-1],
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			sc := sessionCookie{Key: "unchanged"}
			if err := sc.UnmarshalBinary(in); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("UnmarshalBinary = %v, want wire.ErrMalformed", err)
			}
			if sc.Key != "unchanged" || sc.Session != nil {
				t.Errorf("UnmarshalBinary changed the cookie to %+v", sc)
			}
		})
	}
}

// FuzzSessionCookie checks that UnmarshalBinary never panics and that what
// it accepts MarshalBinary writes back byte for byte.
func FuzzSessionCookie(f *testing.F) {
	for _, sc := range wireSamples(f) {
		p, err := sc.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var sc sessionCookie
		if sc.UnmarshalBinary(p) != nil {
			return
		}
		again, err := sc.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", sc, err)
		}
		if !bytes.Equal(again, p) {
			t.Errorf("decoded %+v, session %+v, from %x, which re-encodes as %x", sc, sc.withUser().Session, p, again)
		}
	})
}

// TestSessionDecodeAllocations bounds the allocations of decoding a
// signed-in session's cookie value, uncached: about a dozen are
// securecookie's, the rest one per token and struct; the claims stay
// encoded, whatever their number (JSON took 113).
func TestSessionDecodeAllocations(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: monocloudtest.Config{Claims: benchClaims}})
	app.signIn("")
	var value string
	for _, ck := range app.cookies() {
		if ck.Name == app.client.cfg.opts.Session.Cookie.Name {
			value = ck.Value
		}
	}
	codec := app.client.sessionCodec
	allocs := testing.AllocsPerRun(50, func() {
		var sc sessionCookie
		if _, err := codec.Decode(app.client.cfg.opts.Session.Cookie.Name, value, &sc); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocations", allocs)
	if allocs > 24 {
		t.Errorf("decoding allocated %v times, want at most 24", allocs)
	}
}

// TestEncodedClaimsReachEveryPath checks that every path that reads the
// user claims of a session decoded from its cookie, with the claims still
// encoded, sees them: each request decodes its cookie anew. "local" is a
// claim that only the session holds, which no token could bring back.
func TestEncodedClaimsReachEveryPath(t *testing.T) {
	yes := true
	var hookSaw, deniedSaw any
	opts := Options{
		Session: SessionOptions{Sliding: &yes},
		OnSessionCreating: func(_ context.Context, s *Session, _, _, _ map[string]any) error {
			hookSaw = s.User["local"]
			return nil
		},
	}
	mw := &MiddlewareOptions{
		ProtectedRoutes: []ProtectedRoute{
			{Pattern: regexp.MustCompile("^/admin"), GroupCheck: GroupCheck{Groups: []string{"admin"}}},
			{Pattern: regexp.MustCompile("^/ops"), GroupCheck: GroupCheck{Groups: []string{"ops"}}},
		},
		OnAccessDenied: func(w http.ResponseWriter, _ *http.Request, user User) {
			deniedSaw = user["local"]
			w.WriteHeader(http.StatusForbidden)
		},
	}
	app := newTestApp(t, appConfig{opcfg: monocloudtest.Config{Claims: map[string]any{"groups": []any{"staff", "admin"}}}, opts: opts, build: func(c *Client) http.Handler {
		local := func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err != nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			_, _ = fmt.Fprint(w, s.User["local"])
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/admin", local)
		mux.HandleFunc("/ops", local)
		mux.HandleFunc("/session", local)
		mux.HandleFunc("/in-group", func(w http.ResponseWriter, r *http.Request) {
			_, _ = fmt.Fprint(w, c.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"staff"}}))
		})
		mux.HandleFunc("/refresh", func(w http.ResponseWriter, r *http.Request) {
			if _, err := c.GetTokens(r.Context(), &GetTokensOptions{ForceRefresh: true}); err != nil {
				t.Error(err)
			}
			local(w, r)
		})
		mux.HandleFunc("/update", func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err == nil {
				s.Extra = map[string]any{"updated": true}
				err = c.UpdateSession(r.Context(), s)
			}
			if err != nil {
				t.Error(err)
			}
		})
		return c.AuthMiddleware(mw)(mux)
	}})
	app.signIn("")
	app.mutate(func(s *Session) { s.User["local"] = "kept" })
	clock := app.useClock()
	signedIn := app.sessionCookies()
	decoded := decodeSessionCookie(t, app.client, signedIn).Session
	sub, sid := decoded.subject(), decoded.User["sid"].(string)

	// fresh serves path with cookies, none of them decoded before.
	fresh := func(path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		app.client.sessions = newSessionCache()
		return app.serve(http.MethodGet, path, cookies...)
	}
	// kept checks that the session cookie set by w, if any, else cookies,
	// holds the claim, decoded in full and as a fresh request sees it.
	kept := func(t *testing.T, w *httptest.ResponseRecorder, cookies []*http.Cookie) {
		t.Helper()
		cookies = applyCookies(cookies, w.Result().Cookies())
		if got := decodeSessionCookie(t, app.client, cookies).Session.User["local"]; got != "kept" {
			t.Errorf("the session cookie holds local = %v", got)
		}
		if w := fresh("/session", cookies); w.Body.String() != "kept" {
			t.Errorf("then Session sees local = %q", w.Body)
		}
	}

	for _, tc := range []struct {
		path, want string
		setCookie  bool // the response writes the session cookie again
	}{
		{"/admin", "kept", false},         // a group check passes
		{"/session", "kept", false},       // Session
		{"/in-group", "true", false},      // IsUserInGroup
		{"/refresh", "kept", true},        // a refresh keeps the user
		{"/update", "", true},             // UpdateSession of Session's copy
		{"/api/auth/userinfo", "", false}, // checked below
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := fresh(tc.path, signedIn)
			if w.Code != http.StatusOK || w.Body.String() != tc.want && tc.want != "" {
				t.Fatalf("%s: %d %q, want 200 %q", tc.path, w.Code, w.Body, tc.want)
			}
			if tc.path == "/api/auth/userinfo" && !strings.Contains(w.Body.String(), `"local":"kept"`) {
				t.Errorf("userinfo answered %s", w.Body)
			}
			if got := len(w.Result().Cookies()) > 0; got != tc.setCookie {
				t.Errorf("Set-Cookie: %v, want %v", got, tc.setCookie)
			}
			kept(t, w, signedIn)
		})
	}
	t.Run("refresh hook", func(t *testing.T) {
		if hookSaw != "kept" {
			t.Errorf("OnSessionCreating saw local = %v on refresh", hookSaw)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		if w := fresh("/ops", signedIn); w.Code != http.StatusForbidden || deniedSaw != "kept" {
			t.Errorf("%d, OnAccessDenied saw local = %v; want 403, kept", w.Code, deniedSaw)
		}
	})
	t.Run("sliding re-encode", func(t *testing.T) {
		clock.Advance(2 * time.Minute)
		w := fresh("/session", signedIn)
		if w.Body.String() != "kept" || len(w.Result().Cookies()) == 0 {
			t.Fatalf("Session saw local = %q; the sliding session written again: %v", w.Body, len(w.Result().Cookies()) > 0)
		}
		kept(t, w, signedIn)
	})
	for name, revoke := range map[string]func(at time.Time){
		"revoked by sid": func(at time.Time) { app.client.ended.add("", sid, at) },
		"revoked by sub": func(at time.Time) { app.client.ended.add(sub, "", at) },
	} {
		t.Run(name, func(t *testing.T) {
			app.client.ended = newEndedSessions(app.client.cfg.opts.Session.MaximumDuration, maxEnded, false)
			revoke(clock.Now())
			if w := fresh("/session", signedIn); w.Code != http.StatusNoContent {
				t.Errorf("a revoked session served: %d %q", w.Code, w.Body)
			}
		})
	}
}

// TestLookupDecodesTheClaimsOncePerRequest checks that a request whose
// cookie was not decoded before decodes the user claims on its first lookup
// only: later lookups return that session, without a copy.
func TestLookupDecodesTheClaimsOncePerRequest(t *testing.T) {
	app := newTestApp(t, appConfig{})
	app.signIn("")
	app.client.sessions = newSessionCache()
	r := app.request(http.MethodGet, "/")
	st := &requestState{c: app.client, r: r}

	first, err := st.lookup(r.Context())
	if err != nil || first == nil {
		t.Fatalf("lookup: %v, %v; want the session", first, err)
	}
	if first.user != nil || first.Session.User.Subject() == "" {
		t.Fatalf("lookup returned the claims undecoded: %+v", first.Session.User)
	}
	var again *sessionCookie
	if n := testing.AllocsPerRun(10, func() { again, _ = st.lookup(r.Context()) }); n != 0 {
		t.Errorf("a later lookup allocates %v times, want 0", n)
	}
	if again != first {
		t.Error("a later lookup returned another session than the first")
	}
}

// TestSessionCachePutWhenFullEvictsOnlyTheOldest: a put into the full
// decode cache drops one entry, the oldest, not a batch: the cache keeps
// its bound, every other decoded cookie stays cached, and the put does
// constant work under the lock, so readers never wait behind a bulk drop.
func TestSessionCachePutWhenFullEvictsOnlyTheOldest(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := func(i int) string { return fmt.Sprintf("value-%d", i) }
	for i := range sessionCacheSize + 1 {
		c.put(c.key(value(i)), sessionCookie{Key: fmt.Sprintf("key-%d", i)}, false, now)
	}
	if n := c.entries.Len(); n != sessionCacheSize {
		t.Errorf("%d entries, want the bound %d", n, sessionCacheSize)
	}
	if _, _, ok := c.get(c.key(value(0)), now); ok {
		t.Error("the oldest entry is still cached")
	}
	missing := 0
	for i := 1; i <= sessionCacheSize; i++ {
		if sc, _, ok := c.get(c.key(value(i)), now); !ok || sc.Key != fmt.Sprintf("key-%d", i) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d entries other than the oldest dropped by one put", missing)
	}
	if _, _, ok := c.get(c.key(value(1)), now.Add(sessionCacheTTL)); ok {
		t.Error("an entry is still cached after sessionCacheTTL")
	}
}

// TestSessionCacheKeepsNoValue: the cache keys entries by a hash of the
// cookie value and does not keep the value, about 2.5 KB for a session
// cookie, alive.
func TestSessionCacheKeepsNoValue(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := strings.Repeat("v", 2500)
	gone := weak.Make(unsafe.StringData(value))
	c.put(c.key(value), sessionCookie{Key: "key"}, false, now)
	if sc, _, ok := c.get(c.key(strings.Repeat("v", 2500)), now); !ok || sc.Key != "key" {
		t.Fatalf("an equal value is not found: %v %q", ok, sc.Key)
	}
	runtime.GC()
	if gone.Value() != nil {
		t.Error("the cache keeps the value alive")
	}
	runtime.KeepAlive(c)
}

// TestSessionCacheKeys: a value differing from a cached one in one byte,
// or in length, is not found; and each cache draws its own seeds, so keys
// cannot be computed outside the process.
func TestSessionCacheKeys(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := strings.Repeat("A-z_0", 500)
	c.put(c.key(value), sessionCookie{Key: "key"}, false, now)
	for _, other := range []string{value[:len(value)-1] + "1", value[1:], value + "=", "B" + value[1:]} {
		if _, _, ok := c.get(c.key(other), now); ok {
			t.Errorf("a value differing from the cached one is found: ...%q", other[len(other)-8:])
		}
	}
	if c.key(value) == newSessionCache().key(value) {
		t.Error("two caches hash a value alike")
	}
}

// BenchmarkSessionCacheMemory reports the heap a cache entry takes, the
// decoded session included, filling a cache with the decodings of distinct
// session cookie values as the middleware does. The values are copied
// before each decode, like a request's header, and dropped after, so an
// entry that kept its value would count it.
//
//	go test -run='^$' -bench=SessionCacheMemory .
func BenchmarkSessionCacheMemory(b *testing.B) {
	app := newTestApp(b, appConfig{opcfg: monocloudtest.Config{Claims: benchClaims}})
	app.signIn("")
	reqs := benchRotatingRequests(b, app.client, app.request(http.MethodGet, "/"), sessionCacheSize)
	values := make([][]byte, len(reqs))
	for i, r := range reqs {
		single, chunked, _ := cookie.Find(r.Header["Cookie"], app.client.cfg.opts.Session.Cookie.Name)
		values[i] = []byte(single + chunked)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		app.client.sessions = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		app.client.sessions = newSessionCache()
		for _, v := range values {
			if _, _, err := app.client.decodeSession(string(v)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(values)), "B/entry")
	b.ReportMetric(float64(len(values[0])), "cookie-bytes")
}
