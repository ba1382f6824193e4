package monocloud

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestHandlerUserInfo(t *testing.T) {
	t.Run("should return no content if there is no session (204)", func(t *testing.T) {
		app := newTestApp(t, appConfig{build: handlerOnly})
		resp, body := app.get("/api/auth/userinfo")
		if resp.StatusCode != http.StatusNoContent || body != "" {
			t.Errorf("%d %q, want 204 and no body", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("Cache-Control %q Pragma %q", cc, resp.Header.Get("Pragma"))
		}
	})

	t.Run("should return the current user claims", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		app.signInVia("/api/auth/signin")
		resp, body := app.get("/api/auth/userinfo")
		var user map[string]any
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &user) != nil {
			t.Fatalf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if user["sub"] != "user-1" || user["name"] != "Ada" || user["email"] != "ada@example.com" {
			t.Errorf("user %v", user)
		}
	})

	t.Run("should perform a userinfo request when customized through options", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(true)}})
		app.signInVia("/api/auth/signin")
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusOK, Body: `{"sub":"user-1","name":"Grace"}`})
		resp, body := app.get("/api/auth/userinfo")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"Grace"`) || !strings.Contains(body, `"email":"ada@example.com"`) {
			t.Errorf("%d %s, want the refetched name merged into the user", resp.StatusCode, body)
		}
		if s := app.session(); s == nil || s.User["name"] != "Grace" {
			t.Errorf("the refetched claims were not saved: %+v", s)
		}
	})

	t.Run("should not perform a userinfo request when customized through options", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(false)}})
		app.signInVia("/api/auth/signin")
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusInternalServerError})
		resp, body := app.get("/api/auth/userinfo")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"Ada"`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})

	t.Run("can add custom fields to session by passing in onSessionCreating", func(t *testing.T) {
		var calls []string
		var mu sync.Mutex
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(true), OnSessionCreating: func(ctx context.Context, s *Session, claims, info, appState map[string]any) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, map[bool]string{true: "callback", false: "refetch"}[claims != nil])
			if claims == nil && info != nil {
				s.User["refetched"] = true
			}
			return nil
		}}})
		app.signInVia("/api/auth/signin")
		resp, body := app.get("/api/auth/userinfo")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"refetched":true`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(calls, []string{"callback", "refetch"}) {
			t.Errorf("OnSessionCreating calls %v", calls)
		}
	})

	t.Run("should return bad gateway if there is an op error", func(t *testing.T) {
		for _, tt := range []struct {
			fault  monocloudtest.Fault
			status int
		}{
			{monocloudtest.Fault{Status: http.StatusInternalServerError, Body: "down"}, http.StatusBadGateway},
			{monocloudtest.Fault{Status: http.StatusOK, Body: "[]"}, http.StatusBadGateway},
			{monocloudtest.Fault{Status: http.StatusOK, Body: `{"sub":"someone-else"}`}, http.StatusBadGateway},
		} {
			app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(true)}})
			app.signInVia("/api/auth/signin")
			app.op.SetUserinfoFault(tt.fault)
			resp, _ := app.get("/api/auth/userinfo")
			if resp.StatusCode != tt.status {
				t.Errorf("userinfo answering %d %q: status %d, want %d", tt.fault.Status, tt.fault.Body, resp.StatusCode, tt.status)
			}
			app.op.SetUserinfoFault(monocloudtest.Fault{})
			if s := app.session(); s == nil || s.User["name"] != "Ada" {
				t.Errorf("session changed by a failed refetch: %+v", s)
			}
		}
	})

	t.Run("should execute custom onError function if provided", func(t *testing.T) {
		rec := &errRecorder{}
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(true), OnError: rec.hook}})
		app.signInVia("/api/auth/signin")
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusInternalServerError})
		resp, _ := app.get("/api/auth/userinfo")
		var he *HTTPError
		if resp.StatusCode != http.StatusTeapot || !errors.As(rec.last(), &he) {
			t.Errorf("status %d, error %v", resp.StatusCode, rec.last())
		}
	})
}

// TestUserInfoOfAnotherUser: userinfo that describes another user than the
// session's is the provider's fault: an *HTTPError, answered 502 on the
// userinfo route and on the callback, returned by GetTokens on a refresh
// that refetches userinfo; a refused access token is a *TokenError with
// the provider's code.
func TestUserInfoOfAnotherUser(t *testing.T) {
	other := monocloudtest.Fault{Status: http.StatusOK, Body: `{"sub":"someone-else"}`}
	for _, route := range []string{"userinfo", "callback"} {
		// answer signs in (for the userinfo route), serves userinfo of
		// another user and answers the route.
		answer := func(onError func(http.ResponseWriter, *http.Request, error)) *http.Response {
			app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{UserInfo: new(true), RefetchUserInfo: new(true), OnError: onError}})
			if route == "callback" {
				app.op.SetUserinfoFault(other)
				resp, _ := app.signInVia("/api/auth/signin")
				return resp
			}
			app.signInVia("/api/auth/signin")
			app.op.SetUserinfoFault(other)
			resp, _ := app.get("/api/auth/userinfo")
			return resp
		}
		if resp := answer(nil); resp.StatusCode != http.StatusBadGateway || resp.Request.URL.Path != "/api/auth/"+route {
			t.Errorf("%s with userinfo of another user: %d at %s, want 502", route, resp.StatusCode, resp.Request.URL.Path)
		}
		rec := &errRecorder{}
		answer(rec.hook)
		var he *HTTPError
		if err := rec.last(); !errors.As(err, &he) || !strings.Contains(he.Message, "sub does not match") {
			t.Errorf("%s: error %T %v, want *HTTPError naming the sub", route, err, err)
		}
	}

	app := newTokensApp(t, adaClaims, Options{RefetchUserInfo: new(true)})
	app.signIn("")
	app.op.SetUserinfoFault(other)
	var he *HTTPError
	if _, err := app.tokens(&GetTokensOptions{ForceRefresh: true}); !errors.As(err, &he) {
		t.Errorf("GetTokens refetching userinfo of another user: %T %v, want *HTTPError", err, err)
	}
	app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusForbidden})
	var te *TokenError
	if _, err := app.tokens(&GetTokensOptions{ForceRefresh: true}); !errors.As(err, &te) || te.Code != CodeInsufficientScope || te.Raw == nil {
		t.Errorf("GetTokens with userinfo refusing the token: %T %v, want *TokenError insufficient_scope with the answer", err, err)
	}
}

// TestUserInfoSigned is the OpenID conformance test rp-userinfo-sig: a
// signed userinfo answer (application/jwt) is verified with the provider's
// keys, its iss and aud checked when present, and its claims merged into
// the user without the JWT's own claims.
func TestUserInfoSigned(t *testing.T) {
	opcfg := adaClaims
	opcfg.SignedUserinfo = true
	app := newTestApp(t, appConfig{opcfg: opcfg, opts: Options{UserInfo: new(true)}})
	app.signIn("")
	user := app.session().User
	if user["name"] != "Ada" || user["sub"] != "user-1" || app.op.UserinfoRequests() != 1 {
		t.Fatalf("user %v after %d userinfo calls; want Ada's claims from 1 call", user, app.op.UserinfoRequests())
	}
	if _, ok := user["aud"]; ok {
		t.Errorf("user %v keeps the aud of the signed userinfo", user)
	}

	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, kid := providerKey(t, app.op)
	for name, jwt := range map[string]string{
		"iss of another issuer": app.op.SignJWT(t, "JWT", map[string]any{"sub": "user-1", "iss": "https://op.example", "aud": "test-client"}),
		"aud of another client": app.op.SignJWT(t, "JWT", map[string]any{"sub": "user-1", "iss": app.op.Issuer(), "aud": []any{"other"}}),
		"signed by another key": signWith(t, foreign, kid, map[string]any{"sub": "user-1"}),
		"not a JWT":             "garbage",
	} {
		app.newBrowser()
		app.op.SetUserinfoFault(monocloudtest.Fault{Body: jwt, ContentType: "application/jwt"})
		if resp, _ := app.signInVia("/api/auth/signin"); resp.StatusCode == http.StatusTemporaryRedirect {
			t.Errorf("%s: sign-in succeeded", name)
		}
	}
	app.newBrowser()
	app.op.SetUserinfoFault(monocloudtest.Fault{Body: app.op.SignJWT(t, "JWT", map[string]any{"sub": "user-1", "nickname": "ada"}), ContentType: "application/jwt"})
	app.signIn("") // iss and aud may be absent
	if got := app.session().User["nickname"]; got != "ada" {
		t.Errorf("nickname %v from a signed userinfo without iss and aud, want ada", got)
	}
}

// TestUserInfoRefreshQuery: ?refresh refetches the claims (a query
// override, see TestQueryParamOverridesOff); ?refresh=false does not, even
// with RefetchUserInfo.
func TestUserInfoRefreshQuery(t *testing.T) {
	for _, tc := range []struct {
		refetch bool
		query   string
		want    int
	}{{false, "?refresh", 1}, {false, "?refresh=true", 1}, {true, "?refresh=false", 0}, {false, "?refresh=maybe", 0}} {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RefetchUserInfo: new(tc.refetch)}})
		app.signIn("")
		before := app.op.UserinfoRequests()
		if resp, _ := app.get("/api/auth/userinfo" + tc.query); resp.StatusCode != http.StatusOK || app.op.UserinfoRequests()-before != tc.want {
			t.Errorf("RefetchUserInfo %v, %s: %d, %d userinfo requests, want 200 and %d", tc.refetch, tc.query, resp.StatusCode, app.op.UserinfoRequests()-before, tc.want)
		}
	}
}

// TestStrictProfileSync: with StrictProfileSync a refetch or a refresh
// builds the user anew (a claim no longer sent is dropped); without it,
// the new claims are merged in.
func TestStrictProfileSync(t *testing.T) {
	for _, strict := range []bool{false, true} {
		for _, how := range []string{"userinfo ?refresh", "GetTokens ForceRefresh"} {
			app := newTokensApp(t, adaClaims, Options{StrictProfileSync: new(strict)})
			app.signIn("")
			app.mutate(func(s *Session) { s.User["stale"] = true })
			if how == "userinfo ?refresh" {
				if resp, body := app.get("/api/auth/userinfo?refresh"); resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", how, resp.StatusCode, body)
				}
			} else {
				app.mustTokens(&GetTokensOptions{ForceRefresh: true})
			}
			u := app.session().User
			if _, kept := u["stale"]; kept == strict || u["name"] != "Ada" || u.Subject() == "" {
				t.Errorf("StrictProfileSync %v, %s: user %v", strict, how, u)
			}
		}
	}
}
