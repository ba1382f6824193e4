package monocloud

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// refreshedIDToken returns an ID token of the signed-in user signed by the
// provider, valid for an hour from now, with claims overriding the defaults
// (a nil value deletes a claim).
func refreshedIDToken(t testing.TB, app *testApp, claims map[string]any) string {
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
			idt := refreshedIDToken(t, app, map[string]any{"iat": app.clock.Unix() + tc.ahead})
			app.op.SetTokenFault(tokenFault("at-iat", idt, ""))
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
			if te := asError[*TokenError](t, err); !strings.Contains(te.Message, `"iat"`) {
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
			idt := refreshedIDToken(t, app, tc.claims)
			app.op.SetTokenFault(tokenFault("at-azp", idt, ""))
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
			if te := asError[*TokenError](t, err); te.Message != "Invalid authorized party (azp) claim" {
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
			if got := writesSession(resp); got != (tc.want == http.StatusFound) {
				t.Errorf("session written: %t", got)
			}
		})
	}
}
