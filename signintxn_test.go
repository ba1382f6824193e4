package monocloud

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/wire"
)

// TestStateService mirrors the SDK's "State Service" titles for the state
// cookie of a sign-in transaction.
func TestStateService(t *testing.T) {
	secure := Options{AppURL: "https://app.example.com", State: StateOptions{Cookie: CookieOptions{Path: "/auth", Domain: "app.example.com"}}}
	c := newTestApp(t, appConfig{opts: secure}).client
	as := &signInTxn{Nonce: "n", CodeVerifier: "v", ReturnURL: "https://app.example.com/x", Scopes: "openid", AppState: map[string]any{"k": "v"}}

	save := func(t *testing.T, formPost bool) *http.Cookie {
		t.Helper()
		ck, err := c.stateCookie("st4te", as, formPost)
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	take := func(cookies ...*http.Cookie) (*signInTxn, *httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(http.MethodGet, "https://app.example.com/api/auth/callback", nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		got, err := c.takeSignInTxn(w, r, "st4te")
		return got, w, err
	}

	t.Run("should set the state cookie with configured options", func(t *testing.T) {
		ck := save(t, false)
		if ck.Name != "state.st4te" || ck.Path != "/auth" || ck.Domain != "app.example.com" || !ck.HttpOnly || !ck.Secure ||
			ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != int(defaultStateDuration.Seconds()) {
			t.Errorf("cookie = %+v", ck)
		}
	})
	t.Run("should set the state cookie with same site none when passed in", func(t *testing.T) {
		if ck := save(t, true); ck.SameSite != http.SameSiteNoneMode || !ck.Secure {
			t.Errorf("form_post cookie = %+v, want SameSite=None; Secure", ck)
		}
	})
	t.Run("should be able to get the state from the cookies", func(t *testing.T) {
		c.usedStates = newUsedStates(defaultStateDuration)
		got, _, err := take(save(t, false))
		if err != nil || got.Nonce != "n" || got.CodeVerifier != "v" || got.ReturnURL != as.ReturnURL || got.AppState["k"] != "v" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("should return undefined when getting the state from request with no state cookie", func(t *testing.T) {
		if _, _, err := take(); !isValidation(err, "Invalid state") || !errors.Is(err, ErrInvalidState) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("should return undefined when getting an invalid state", func(t *testing.T) {
		ck := save(t, false)
		for name, bad := range map[string]*http.Cookie{
			"tampered":             {Name: ck.Name, Value: ck.Value[:len(ck.Value)-4] + "AAAA"},
			"truncated":            {Name: ck.Name, Value: ck.Value[:len(ck.Value)/2]},
			"other transaction's":  {Name: ck.Name, Value: encodeState(t, c, "other", as)},
			"garbage":              {Name: ck.Name, Value: "not-a-cookie"},
			"session cookie value": {Name: ck.Name, Value: strings.Repeat("A", 64)},
		} {
			c.usedStates = newUsedStates(defaultStateDuration)
			if _, _, err := take(bad); !isValidation(err, "Invalid state") || !errors.Is(err, ErrInvalidState) {
				t.Errorf("%s cookie: err = %v", name, err)
			}
		}
	})
	t.Run("should remove the state cookie after the first get", func(t *testing.T) {
		c.usedStates = newUsedStates(defaultStateDuration)
		ck := save(t, false)
		_, w, err := take(ck)
		if err != nil {
			t.Fatal(err)
		}
		expired := w.Result().Cookies()
		if len(expired) != 1 || expired[0].Name != ck.Name || expired[0].MaxAge >= 0 || expired[0].Path != "/auth" {
			t.Fatalf("Set-Cookie after get: %+v", expired)
		}
		// A replay of the same cookie (the browser had not dropped it yet,
		// or an attacker copied it) is refused.
		if _, _, err := take(ck); !isValidation(err, "Invalid state: the callback was already used") || !errors.Is(err, ErrInvalidState) {
			t.Fatalf("replay: err = %v", err)
		}
	})
}

// TestAuthStateBinaryRoundTrip: every field of a sign-in's state survives
// the state cookie's binary encoding; application state of other types than
// JSON's decodes as its JSON would.
func TestAuthStateBinaryRoundTrip(t *testing.T) {
	maxAge := 300
	type appType struct {
		N int `json:"n"`
	}
	full := signInTxn{
		Nonce: randomString(), CodeVerifier: randomString(), ReturnURL: "https://app.example.com/x?y=1#z",
		MaxAge: &maxAge, Resource: "https://api.example.com", Resources: "https://api.example.com https://other.example.com",
		Scopes: "openid profile email", RedirectURI: "https://app.example.com/cb",
		AppState: map[string]any{"s": "v", "n": 1.5, "nested": map[string]any{"a": []any{true, nil}}},
	}
	for _, tc := range []struct {
		name     string
		as, want signInTxn
	}{
		{"empty", signInTxn{}, signInTxn{}},
		{"full", full, full},
		{"not base64 tokens", signInTxn{Nonce: "n", CodeVerifier: "not base64!"}, signInTxn{Nonce: "n", CodeVerifier: "not base64!"}},
		{"zero max age", signInTxn{MaxAge: new(int)}, signInTxn{MaxAge: new(int)}},
		{"empty app state", signInTxn{AppState: map[string]any{}}, signInTxn{AppState: map[string]any{}}},
		{"app state types", signInTxn{AppState: map[string]any{"t": appType{N: 7}, "i": 3}},
			signInTxn{AppState: map[string]any{"t": map[string]any{"n": 7.0}, "i": 3.0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.as.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got signInTxn
			if err := got.UnmarshalBinary(p); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestAuthStateUnmarshalRefuses: a payload that is not a state's binary
// encoding is an error, and leaves the state as it was.
func TestAuthStateUnmarshalRefuses(t *testing.T) {
	valid, err := (&signInTxn{Nonce: "n", Scopes: "openid"}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string][]byte{
		"empty":          nil,
		"unknown format": append([]byte{stateWireVersion + 1}, valid[1:]...),
		"truncated":      valid[:len(valid)-1],
		"left over":      append(bytes.Clone(valid), 0),
		"JSON":           []byte(`{"nonce":"n"}`),
	} {
		t.Run(name, func(t *testing.T) {
			as := signInTxn{Nonce: "unchanged"}
			if err := as.UnmarshalBinary(p); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("UnmarshalBinary = %v, want wire.ErrMalformed", err)
			}
			if as.Nonce != "unchanged" {
				t.Errorf("UnmarshalBinary changed the state to %+v", as)
			}
		})
	}
}

// TestStateCookieSize bounds the state cookie of a typical sign-in: a
// random nonce and verifier, the return URL and three scopes. It was 461
// bytes as compressed JSON; the wire encoding makes it about 360.
func TestStateCookieSize(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	resp, _ := app.startSignIn("/api/auth/signin")
	if n := stateCookieSize(resp); n == 0 || n > 380 {
		t.Errorf("state cookie of %d bytes (name and value), want at most 380", n)
	}
}

// TestAnonymousCallbacksDoNotEvictLogoutTokenIDs: sign-ins and callbacks
// without a code (no account needed) fill the used states up to their
// bound and no further, and cannot make the app forget the ID of a logout
// token it accepted: a replay of the token is still refused.
func TestAnonymousCallbacksDoNotEvictLogoutTokenIDs(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	const bound = 4
	app.client.usedStates = expiring.New[string, struct{}](bound, defaultStateDuration)
	token := app.op.SignLogoutToken(t, validLogoutClaims(app, map[string]any{"sid": "some-sid"}))
	if resp, body := postBackChannelLogout(t, app, url.Values{"logout_token": {token}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %q", resp.StatusCode, body)
	}
	for range 5 * bound {
		app.newBrowser()
		_, loc := app.startSignIn("/api/auth/signin")
		state := queryOf(t, loc).Get("state")
		if resp, _ := app.get("/api/auth/callback?" + url.Values{"state": {state}}.Encode()); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback without code: %d, want 400", resp.StatusCode)
		}
	}
	if n := app.client.usedStates.Len(); n > bound {
		t.Errorf("%d used states held, past the bound %d", n, bound)
	}
	if resp, _ := postBackChannelLogout(t, app, url.Values{"logout_token": {token}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed logout token: %d, want 400", resp.StatusCode)
	}
}

// randomPath returns "/search?q=" and random text, n bytes in all: a
// return URL that does not compress.
func randomPath(n int) string {
	p := "/search?q="
	for len(p) < n {
		p += rand.Text()
	}
	return p[:n]
}

// stateCookieSize is the name plus value of the cookies resp sets whose name
// starts with "state.", the largest one.
func stateCookieSize(resp *http.Response) int {
	size := 0
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "state.") {
			size = max(size, len(ck.Name)+len(ck.Value))
		}
	}
	return size
}

// TestStateCookieFitsInABrowser: browsers drop a cookie over 4093 bytes
// (name plus value), and the user would then sign in at the provider only
// to get a 400 at the callback. A return_url that would make the state
// cookie too large is dropped (the user returns to the app's root); other
// state that does not fit is refused before the redirect to the provider.
func TestStateCookieFitsInABrowser(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	// The return_url length whose state cookie is the largest that fits,
	// give or take the few bytes by which the random state, nonce and
	// verifier of each sign-in change the compressed size.
	resp, _ := app.startSignIn("/api/auth/signin")
	ck, template := stateCookieOf(t, app, resp)
	limit := sort.Search(cookie.MaxSize, func(n int) bool {
		as := *template
		as.ReturnURL = app.url(randomPath(n))
		value, err := app.client.stateCodec.Encode(ck.Name, &as)
		if err != nil {
			t.Fatal(err)
		}
		return len(ck.Name)+len(value) > cookie.MaxSize
	}) - 1

	const (
		dropped = -1
		either  = 0 // kept or dropped, exactly as it fits
		kept    = 1
	)
	for _, tc := range []struct {
		name string
		n    int // bytes of the return_url's path and query
		want int
	}{
		{"far below", limit - 1000, kept},
		{"64 below", limit - 64, kept},
		{"1 below", limit - 1, either},
		{"at", limit, either},
		{"1 above", limit + 1, either},
		{"64 above", limit + 64, dropped},
		{"3.2 KB", 3200, dropped},
		{"far above", 20000, dropped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app.newBrowser()
			ret := randomPath(tc.n)
			resp, loc := app.startSignIn("/api/auth/signin?return_url=" + url.QueryEscape(ret))
			if n := stateCookieSize(resp); n > cookie.MaxSize {
				t.Errorf("state cookie of %d bytes, more than %d", n, cookie.MaxSize)
			}
			ck, as := stateCookieOf(t, app, resp)
			want := app.url(ret)
			if as.ReturnURL != want {
				// Dropped: only if the state cookie would not have fit.
				if as.ReturnURL != app.url("") {
					t.Fatalf("return URL %.60q, want the requested one or the app's root", as.ReturnURL)
				}
				withIt := *as
				withIt.ReturnURL = want
				if value, _ := app.client.stateCodec.Encode(ck.Name, &withIt); len(ck.Name)+len(value) <= cookie.MaxSize {
					t.Errorf("return_url of %d bytes dropped, yet its state cookie of %d bytes fits", len(ret), len(ck.Name)+len(value))
				}
				want = app.url("")
			}
			if got := map[bool]int{true: kept, false: dropped}[as.ReturnURL != app.url("")]; tc.want != either && got != tc.want {
				t.Errorf("return_url of %d bytes (limit about %d): kept %t", len(ret), limit, got == kept)
			}
			cb := app.op.Authorize(t, loc)
			resp, body := app.get(cb.String())
			if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
				t.Errorf("callback: %d to %.60q, want 307 to %.60q: %s", resp.StatusCode, resp.Header.Get("Location"), want, body)
			}
		})
	}

	t.Run("application state that does not fit is refused before the redirect", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			appState  int // bytes of random application state
			returnURL string
			refused   bool
		}{
			{"small", 100, "", false},
			{"2 KB", 2000, "", false},
			{"4 KB", 4000, "", true},
			{"4 KB and a return_url", 4000, "/x", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec := &errRecorder{}
				data := randomPath(tc.appState)
				app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{
					OnError:               rec.hook,
					OnSetApplicationState: func(*http.Request) (map[string]any, error) { return map[string]any{"data": data}, nil },
				}})
				resp, _ := app.get("/api/auth/signin?return_url=" + tc.returnURL)
				if !tc.refused {
					if resp.StatusCode != http.StatusTemporaryRedirect || stateCookieSize(resp) > cookie.MaxSize {
						t.Fatalf("sign-in: %d with a state cookie of %d bytes, want 307 and at most %d", resp.StatusCode, stateCookieSize(resp), cookie.MaxSize)
					}
					return
				}
				var ve *ValidationError
				if resp.StatusCode != http.StatusTeapot || !errors.As(rec.last(), &ve) || !errors.Is(rec.last(), cookie.ErrTooLarge) {
					t.Errorf("sign-in: %d, error %v; want OnError with a *ValidationError for a state cookie too large", resp.StatusCode, rec.last())
				}
				if len(app.stateCookies()) != 0 || resp.Header.Get("Location") != "" {
					t.Errorf("refused sign-in set %v and redirected to %q", app.stateCookies(), resp.Header.Get("Location"))
				}
			})
		}
	})

	t.Run("state cookies in flight take at most two full cookies", func(t *testing.T) {
		app.newBrowser()
		var loc string
		for range defaultMaxStates {
			_, loc = app.startSignIn("/api/auth/signin?return_url=" + url.QueryEscape(randomPath(limit-64)))
		}
		size := 0
		for _, ck := range app.stateCookies() {
			size += len(ck.Name) + len(ck.Value)
		}
		if size > 2*cookie.MaxSize || len(app.stateCookies()) != 2 {
			t.Errorf("%d state cookies of %d bytes, want the newest two, of at most %d", len(app.stateCookies()), size, 2*cookie.MaxSize)
		}
		if resp, body := app.get(app.op.Authorize(t, loc).String()); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("the newest transaction's callback: %d %s", resp.StatusCode, body)
		}
	})
}

// TestJunkStateCookiesBoundTheAnswer: a sign-in whose Cookie header holds
// thousands of state.<junk> names expires at most State.MaxConcurrent of them,
// as many as a browser of this library holds, instead of one Set-Cookie
// line per name. (2,900 names: r.Cookies reads none past its limit of
// 3,000 cookies, GODEBUG httpcookiemaxnum.)
func TestJunkStateCookiesBoundTheAnswer(t *testing.T) {
	app := newTestApp(t, appConfig{})
	req, err := http.NewRequest(http.MethodGet, app.url("/api/auth/signin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", junkFamilyHeader("state", 2900))
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-in answered %d", resp.StatusCode)
	}
	// The new state cookie, and the expired ones.
	if n := len(resp.Header["Set-Cookie"]); n > defaultMaxStates+1 {
		t.Errorf("%d Set-Cookie lines, want at most %d", n, defaultMaxStates+1)
	}
}
