package monocloud

// Boundary cases of the security and refresh checks: clock-skew edges of
// the ID token checks, sessions from the future, shared
// refresh results and their refresh tokens, base-path return URLs. Each
// test names in its comment the change of the library it catches. Helpers
// carry an "mg" prefix.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// mgTokenFault returns a token endpoint fault answering a successful token
// response with accessToken and, when set, idToken and refreshToken.
func mgTokenFault(accessToken, idToken, refreshToken string) monocloudtest.Fault {
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

// mgRefreshedIDToken returns an ID token of the signed-in user signed by the
// provider, valid for an hour from now, with claims overriding the defaults
// (a nil value deletes a claim).
func mgRefreshedIDToken(t testing.TB, app *testApp, claims map[string]any) string {
	t.Helper()
	now := app.clock.Unix()
	c := map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "test-client", "iat": now, "exp": now + 3600}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return app.op.SignIDToken(t, c)
}

// TestRefreshedIDTokenIssuedInTheFuture: an ID token whose iat is beyond
// the clock skew (60 s) ahead is refused, one within it accepted.
// Kills: the iat check removed; the skew doubled in the iat check.
func TestRefreshedIDTokenIssuedInTheFuture(t *testing.T) {
	for _, tc := range []struct {
		ahead   int64 // seconds
		wantErr bool
	}{
		{90, true},
		{30, false},
	} {
		t.Run(fmt.Sprintf("iat now+%ds", tc.ahead), func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			idt := mgRefreshedIDToken(t, app, map[string]any{"iat": app.clock.Unix() + tc.ahead})
			app.op.SetTokenFault(mgTokenFault("at-iat", idt, ""))
			tok, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
			if !tc.wantErr {
				if err != nil || tok.AccessToken != "at-iat" || tok.IDToken != idt {
					t.Fatalf("GetTokens = %+v, %v; want the refreshed tokens", tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("GetTokens = %+v; want an error for an iat %ds ahead", tok, tc.ahead)
			}
			if te := tkAs[*TokenError](t, err); !strings.Contains(te.Message, `"iat"`) {
				t.Errorf("TokenError %q does not mention iat", te.Message)
			}
		})
	}
}

// TestRefreshedIDTokenAuthorizedParty: azp must equal the client ID when
// present, and is required with several audiences.
// Kills: either operand of the azp condition dropped, or the check removed.
func TestRefreshedIDTokenAuthorizedParty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		claims  map[string]any
		wantErr bool
	}{
		{"single audience, azp of another party", map[string]any{"azp": "other"}, true},
		{"several audiences, no azp", map[string]any{"aud": []any{"test-client", "x"}}, true},
		{"several audiences, azp of another party", map[string]any{"aud": []any{"test-client", "x"}, "azp": "x"}, true},
		{"several audiences, azp of the client", map[string]any{"aud": []any{"test-client", "x"}, "azp": "test-client"}, false},
		{"single audience, azp of the client", map[string]any{"azp": "test-client"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			idt := mgRefreshedIDToken(t, app, tc.claims)
			app.op.SetTokenFault(mgTokenFault("at-azp", idt, ""))
			tok, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
			if !tc.wantErr {
				if err != nil || tok.AccessToken != "at-azp" {
					t.Fatalf("GetTokens = %+v, %v; want the refreshed tokens", tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("GetTokens = %+v; want an azp error", tok)
			}
			if te := tkAs[*TokenError](t, err); te.Message != "Invalid authorized party (azp) claim" {
				t.Errorf("TokenError %q, want the azp error", te.Message)
			}
		})
	}
}

// TestMaxAgeAllowsClockSkew: with max_age=60 the callback accepts an
// auth_time up to max_age plus the clock skew (60 s) ago.
// Kills: the skew dropped from the max_age deadline; the check removed.
func TestMaxAgeAllowsClockSkew(t *testing.T) {
	for _, tc := range []struct {
		late time.Duration // of the client's clock after the authorization
		want int
	}{
		{90 * time.Second, http.StatusFound},
		{130 * time.Second, http.StatusBadRequest},
	} {
		t.Run(fmt.Sprintf("auth_time+%v", tc.late), func(t *testing.T) {
			app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, nil)
			clock := app.useClock() // the provider keeps the real clock
			_, loc := app.startSignIn("/api/auth/signin?max_age=60")
			cb := app.op.Authorize(t, loc)
			clock.Advance(tc.late)
			resp, body := app.get(cb.String())
			if resp.StatusCode != tc.want {
				t.Fatalf("callback %v after auth_time: status %d, want %d: %s", tc.late, resp.StatusCode, tc.want, body)
			}
			if got := htWritesSession(resp); got != (tc.want == http.StatusFound) {
				t.Errorf("session written: %t", got)
			}
		})
	}
}

// TestSessionCreatedInTheFuture: a session cookie created more than the
// clock skew (60 s) ahead of now is refused and expired; one a little
// ahead is accepted. Kills: the `l.C <= now+60` check removed from
// config.valid (the control kills dropping the +60).
func TestSessionCreatedInTheFuture(t *testing.T) {
	for _, tc := range []struct {
		ahead time.Duration
		valid bool
	}{
		{time.Hour, false},
		{30 * time.Second, true},
	} {
		t.Run(fmt.Sprintf("created now+%v", tc.ahead), func(t *testing.T) {
			app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, nil)
			clock := app.useClock()
			clock.Advance(tc.ahead)
			cookies := htMintSession(t, app.client, &Session{User: User{"sub": "user-1"}})
			clock.Advance(-tc.ahead)

			r := httptest.NewRequest(http.MethodGet, app.client.appURL("/"), nil)
			for _, ck := range cookies {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			w := httptest.NewRecorder()
			s, err := app.client.SessionWithResponse(w, r)
			if tc.valid {
				if err != nil || s.User.Subject() != "user-1" {
					t.Fatalf("Session = %+v, %v; want the session", s, err)
				}
				return
			}
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("Session = %+v, %v; want ErrNoSession", s, err)
			}
			expired := map[string]bool{}
			for _, ck := range w.Result().Cookies() {
				if ck.MaxAge < 0 {
					expired[ck.Name] = true
				}
			}
			for _, ck := range cookies {
				if !expired[ck.Name] {
					t.Errorf("cookie %s was not expired; Set-Cookie: %v", ck.Name, w.Result().Cookies())
				}
			}
		})
	}
}

// TestForceRefreshWithoutRotationSharesOneGrant: concurrent forced
// refreshes of one session that waited for a grant share it, even when the
// provider does not rotate refresh tokens. Kills: dropping
// `res.obtained.After(arrived)` from the sharing condition.
func TestForceRefreshWithoutRotationSharesOneGrant(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{DisableRotation: true}, Options{})
	app.signIn("")
	signedIn := app.session().AccessTokens[0].AccessToken
	c0 := app.cookies()
	// Slow grants, so all requests arrive while the first one runs.
	app.op.SetTokenFault(monocloudtest.Fault{Delay: 400 * time.Millisecond})

	const n = 20
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, tok, _, err := app.httpTokens(c0, "force=1")
			if err != nil || status != http.StatusOK {
				t.Errorf("request %d: %d %v", i, status, err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if got := app.op.RefreshGrants(); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] || tok == signedIn {
			t.Fatalf("request %d got access token %q, request 0 %q (signed in with %q)", i, tok, tokens[0], signedIn)
		}
	}
}

// TestStaleResultWithinMarginIsNotShared: a result whose access token is
// within the expiry margin (30 s) is not handed to a later request from the
// same old cookie: it gets a new grant. Kills: the margin dropped from
// `fresh` in refresher.result.
func TestStaleResultWithinMarginIsNotShared(t *testing.T) {
	// Tokens of 20 s count as expired from the start.
	app := newTokensApp(t, monocloudtest.Config{AccessTokenTTL: 20 * time.Second}, Options{})
	app.signIn("")
	c0 := app.cookies()
	_, first, _, err := app.httpTokens(c0, "")
	if err != nil {
		t.Fatal(err)
	}
	tkWantGrants(t, app.op, 1)
	_, second, _, err := app.httpTokens(c0, "")
	if err != nil {
		t.Fatal(err)
	}
	tkWantGrants(t, app.op, 2)
	if second.AccessToken == first.AccessToken {
		t.Fatalf("the second request got the first one's access token %q, already within the expiry margin", first.AccessToken)
	}
}

// TestAdoptedTokenIsNeverExpired: an instance holding a cookie from
// before another instance's refresh does not adopt that refresh's access
// token once it has expired: it refreshes again. Kills: the `!expired(tok)`
// condition dropped from the adoption in refresher.refresh.
func TestAdoptedTokenIsNeverExpired(t *testing.T) {
	store := newLockingStore()
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
	a.signIn("")
	c0 := a.cookies()
	b := a.secondInstance(store)

	// Instance A refreshes; its token then expires.
	refreshedByA := a.mustTokens(&GetTokensOptions{ForceRefresh: true})
	a.clock.Set(time.Unix(refreshedByA.AccessTokenExpiration+1, 0))

	// Instance B serves the cookie from before A's refresh.
	var (
		tok    *Tokens
		tokErr error
	)
	h := b.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, tokErr = b.GetTokens(r.Context(), nil)
	}))
	r := httptest.NewRequest(http.MethodGet, a.srv.URL+"/tokens", nil)
	for _, ck := range c0 {
		r.AddCookie(ck)
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if tokErr != nil {
		t.Fatalf("instance B: %v", tokErr)
	}
	if tok.IsExpired || tok.AccessToken == refreshedByA.AccessToken {
		t.Fatalf("instance B got %+v; want a new, unexpired token (A's was %q)", tok, refreshedByA.AccessToken)
	}
	tkWantGrants(t, a.op, 2)
}

// TestSharedResultCarriesTheNewestRefreshToken: a request with an old
// cookie that shares an old result gets the lineage's newest refresh token,
// not the (consumed) one of that result. Kills: withLatest returning res
// unchanged.
func TestSharedResultCarriesTheNewestRefreshToken(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	c1 := app.cookies() // RT1; its access token expires at t0+1h
	app.clock.Advance(50 * time.Minute)
	// RT1 → RT2, then RT2 → RT3.
	app.mustTokens(&GetTokensOptions{ForceRefresh: true})
	rt3 := app.mustTokens(&GetTokensOptions{ForceRefresh: true}).RefreshToken
	// RT1's access token has expired, the refreshed ones are fresh.
	app.clock.Advance(11 * time.Minute)

	_, tok, _, err := app.httpTokens(c1, "")
	if err != nil {
		t.Fatal(err)
	}
	tkWantGrants(t, app.op, 2)
	if tok.RefreshToken != rt3 {
		t.Fatalf("refresh token %q, want the newest %q", tok.RefreshToken, rt3)
	}
}

// TestResultFiledUnderTheCookiesRefreshToken: when an old cookie's
// refresh is run with the lineage's newest refresh token, its result is
// also filed under the cookie's own refresh token, so the next request
// with that cookie shares it. Kills: `ln.results[key] = res` removed.
func TestResultFiledUnderTheCookiesRefreshToken(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	c1 := app.cookies()
	_, first, _, err := app.httpTokens(c1, "force=1") // RT1 → RT2
	if err != nil {
		t.Fatal(err)
	}
	app.clock.Set(time.Unix(first.AccessTokenExpiration+1, 0))
	_, second, _, err := app.httpTokens(c1, "") // RT2 → RT3
	if err != nil {
		t.Fatal(err)
	}
	tkWantGrants(t, app.op, 2)
	_, third, _, err := app.httpTokens(c1, "")
	if err != nil {
		t.Fatal(err)
	}
	tkWantGrants(t, app.op, 2)
	if third.AccessToken != second.AccessToken || third.RefreshToken != second.RefreshToken {
		t.Fatalf("third request got %+v, want the second's %+v", third, second)
	}
}

// TestEchoedRefreshTokenIsNotConsumed: a provider that answers a refresh
// with the same refresh token did not rotate it, so a later forced refresh
// runs a new grant. Kills: `res.refreshToken != "" && res.refreshToken != rt`
// reduced to `res.refreshToken != ""`. (DisableRotation, where the provider
// omits refresh_token, cannot tell them apart.)
func TestEchoedRefreshTokenIsNotConsumed(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	rt := app.session().RefreshToken
	app.op.SetTokenFault(mgTokenFault("at-echo-1", "", rt))
	if tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true}); tok.AccessToken != "at-echo-1" || tok.RefreshToken != rt {
		t.Fatalf("first refresh: %+v", tok)
	}
	app.op.SetTokenFault(mgTokenFault("at-echo-2", "", rt))
	if tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true}); tok.AccessToken != "at-echo-2" {
		t.Fatalf("second forced refresh got %q, want a new grant's at-echo-2", tok.AccessToken)
	}
	tkWantGrants(t, app.op, 2)
}

// TestReturnPathWithBasePath: the return_url of an unauthenticated page
// is relative to the base path only for paths under it. Kills: the
// `ret == base` case removed (GET /base returned to /base/base); the
// prefix check without its slash (/basement/x became "ment/x").
func TestReturnPathWithBasePath(t *testing.T) {
	app := newTestAppAt(t, "/base", monocloudtest.Config{}, Options{}, nil, nil)
	for path, want := range map[string]string{
		"/base":         "/",
		"/base/":        "/",
		"/base/x?y=1":   "/x?y=1",
		"/basement/x":   "/basement/x",
		"/basement":     "/basement",
		"/other/a%2Fb":  "/other/a%2Fb",
		"/base/a%20b/c": "/a%20b/c",
	} {
		w := app.serve(http.MethodGet, path)
		if w.Code != http.StatusTemporaryRedirect {
			t.Errorf("GET %s: status %d, want 307", path, w.Code)
			continue
		}
		loc := w.Header().Get("Location")
		if !strings.HasPrefix(loc, app.url("/base/api/auth/signin?")) {
			t.Errorf("GET %s: Location %q is not the sign-in route", path, loc)
		}
		if got := htQuery(t, loc).Get("return_url"); got != want {
			t.Errorf("GET %s: return_url %q, want %q", path, got, want)
		}
	}
}

// TestPostLogoutRedirectURIOnAnotherOrigin: PostLogoutRedirectURI must be
// on AppURL's origin. Kills: the check removed from resolve.
func TestPostLogoutRedirectURIOnAnotherOrigin(t *testing.T) {
	htClearEnv(t)
	o := cfgValid()
	o.PostLogoutRedirectURI = "https://evil.example/bye"
	_, err := resolve(o)
	ves := validationErrors(err)
	if len(ves) != 1 || ves[0].Field != "PostLogoutRedirectURI" || ves[0].EnvVar != "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI" {
		t.Fatalf("resolve: %v, want one ValidationError for PostLogoutRedirectURI", err)
	}

	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	o.TenantDomain = op.Issuer()
	c, err := New(o)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "PostLogoutRedirectURI" {
		t.Fatalf("New = %v, %v; want a ValidationError for PostLogoutRedirectURI", c, err)
	}

	for _, ok := range []string{"https://app.example.com/bye", "/bye", "bye"} {
		o.PostLogoutRedirectURI = ok
		if _, err := resolve(o); err != nil {
			t.Errorf("PostLogoutRedirectURI %q: %v", ok, err)
		}
	}
}

// mgSignInWithStateReturn signs in through the app at base with the
// transaction's state cookie re-encoded so that its ReturnURL is ret, as a
// cookie written by an older version or under an older configuration could
// hold, and returns the callback's response.
func mgSignInWithStateReturn(t *testing.T, app *testApp, base, ret string) *http.Response {
	t.Helper()
	_, loc := app.startSignIn(base + "/api/auth/signin")
	state := htQuery(t, loc).Get("state")
	name := app.client.stateCookieName(state)
	ck := app.cookieNamed(name)
	if ck == nil {
		t.Fatalf("no state cookie %s", name)
	}
	var as authState
	if _, err := app.client.stateCodec.Decode(name, ck.Value, &as); err != nil {
		t.Fatal(err)
	}
	as.ReturnURL = ret
	value := encodeState(t, app.client, state, &as)
	app.newBrowser()
	u, _ := url.Parse(app.srv.URL)
	app.browser.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	resp, body := app.get(app.op.Authorize(t, loc).String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback with state ReturnURL %q: status %d, want 302: %s", ret, resp.StatusCode, body)
	}
	return resp
}

// TestCallbackRechecksTheStatesReturnURL: the callback redirects to the
// app's root when the state's ReturnURL is not on the app's origin, even
// though the sign-in route never stores such a URL. Kills: the callback
// redirecting to as.ReturnURL unchecked.
func TestCallbackRechecksTheStatesReturnURL(t *testing.T) {
	for _, base := range []string{"", "/base"} {
		t.Run("base="+base, func(t *testing.T) {
			app := newTestAppAt(t, base, monocloudtest.Config{}, Options{}, nil, nil)
			resp := mgSignInWithStateReturn(t, app, base, "https://evil.example/")
			if got, want := resp.Header.Get("Location"), app.url(base+"/"); got != want {
				t.Errorf("Location %q, want the app root %q", got, want)
			}
			if !htWritesSession(resp) {
				t.Error("no session written")
			}
			resp = mgSignInWithStateReturn(t, app, base, app.url(base+"/fine"))
			if got, want := resp.Header.Get("Location"), app.url(base+"/fine"); got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
		})
	}
}
