package monocloud

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/monocloudtest"
)

// TestStateService mirrors the SDK's "State Service" titles for the state
// cookie of a sign-in transaction.
func TestStateService(t *testing.T) {
	secure := Options{AppURL: "https://app.example.com", State: StateOptions{Cookie: CookieOptions{Path: "/auth", Domain: "app.example.com"}}}
	c := newTestApp(t, monocloudtest.Config{}, secure, nil, nil).client
	as := &authState{Nonce: "n", CodeVerifier: "v", ReturnURL: "https://app.example.com/x", Scopes: "openid", AppState: map[string]any{"k": "v"}}

	save := func(t *testing.T, formPost bool) *http.Cookie {
		t.Helper()
		ck, err := c.stateCookie("st4te", as, formPost)
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	take := func(cookies ...*http.Cookie) (*authState, *httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(http.MethodGet, "https://app.example.com/api/auth/callback", nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		got, err := c.takeAuthState(w, r, "st4te")
		return got, w, err
	}

	t.Run("should set the state cookie with configured options", func(t *testing.T) {
		ck := save(t, false)
		if ck.Name != "state.st4te" || ck.Path != "/auth" || ck.Domain != "app.example.com" || !ck.HttpOnly || !ck.Secure ||
			ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != int(stateMaxAge.Seconds()) {
			t.Errorf("cookie = %+v", ck)
		}
	})
	t.Run("should set the state cookie with same site none when passed in", func(t *testing.T) {
		if ck := save(t, true); ck.SameSite != http.SameSiteNoneMode || !ck.Secure {
			t.Errorf("form_post cookie = %+v, want SameSite=None; Secure", ck)
		}
	})
	t.Run("should be able to get the state from the cookies", func(t *testing.T) {
		c.usedStates = newUsedStates()
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
			c.usedStates = newUsedStates()
			if _, _, err := take(bad); !isValidation(err, "Invalid state") || !errors.Is(err, ErrInvalidState) {
				t.Errorf("%s cookie: err = %v", name, err)
			}
		}
	})
	t.Run("should remove the state cookie after the first get", func(t *testing.T) {
		c.usedStates = newUsedStates()
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

func encodeState(t *testing.T, c *Client, state string, as *authState) string {
	t.Helper()
	v, err := c.stateCodec.Encode(c.stateCookieName(state), as)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func isValidation(err error, msg string) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Message == msg
}

// TestAnonymousCallbacksDoNotEvictLogoutTokenIDs: sign-ins and callbacks
// without a code (no account needed) fill the used states up to their
// bound and no further, and cannot make the app forget the ID of a logout
// token it accepted: a replay of the token is still refused.
func TestAnonymousCallbacksDoNotEvictLogoutTokenIDs(t *testing.T) {
	app := newTestApp(t, hdClaims, Options{}, nil, nil)
	const bound = 4
	app.client.usedStates = expiring.New[string, struct{}](bound, stateMaxAge)
	token := app.op.SignLogoutToken(t, hdLogoutClaims(app, map[string]any{"sid": "some-sid"}))
	if resp, body := hdPostLogout(t, app, url.Values{"logout_token": {token}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %q", resp.StatusCode, body)
	}
	for range 5 * bound {
		app.newBrowser()
		_, loc := app.startSignIn("/api/auth/signin")
		state := htQuery(t, loc).Get("state")
		if resp, _ := app.get("/api/auth/callback?" + url.Values{"state": {state}}.Encode()); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback without code: %d, want 400", resp.StatusCode)
		}
	}
	if n := app.client.usedStates.Len(); n > bound {
		t.Errorf("%d used states held, past the bound %d", n, bound)
	}
	if resp, _ := hdPostLogout(t, app, url.Values{"logout_token": {token}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed logout token: %d, want 400", resp.StatusCode)
	}
}
