package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/monocloudtest"
)

const (
	tkResA = "https://a.example.com"
	tkResB = "https://b.example.com"
	tkResD = "https://api.example.com" // a default resource
)

// TestGetTokensForms ports "MonoCloud.getTokens() - App Router" and "- Page
// Router" onto the Go forms, and runs the same titles on the package-level
// forms.
func TestGetTokensForms(t *testing.T) {
	groups := []struct {
		name string
		form tokensForm
	}{
		{"App Router/No params (<From Cookies>)", formCtx},
		{"App Router/With Request and Response (req, res)", formWithResponse},
		{"App Router/With Request and Context (req, ctx)", formFromRequest},
		{"Page Router/With Request and Response (req, res)", formWithResponse},
		{"Package/" + formPkgCtx.name, formPkgCtx},
		{"Package/" + formPkgFromRequest.name, formPkgFromRequest},
		{"Package/" + formPkgWithResponse.name, formPkgWithResponse},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Run("should return the tokens if the request is authenticated", func(t *testing.T) {
				app := newTokensApp(t, monocloudtest.Config{}, Options{})
				setDefaultClient(t, app.client)
				app.signIn("")
				s := app.session()
				stored := s.AccessTokens[0]
				tok, resp, err := app.call(g.form, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := &Tokens{
					AccessToken:           stored.AccessToken,
					AccessTokenExpiration: stored.AccessTokenExpiration,
					Scopes:                stored.Scopes,
					Resource:              stored.Resource,
					RequestedScopes:       stored.RequestedScopes,
					IDToken:               s.IDToken,
					RefreshToken:          s.RefreshToken,
					IsExpired:             false,
				}
				if *tok != *want {
					t.Fatalf("tokens = %+v\nwant     %+v", tok, want)
				}
				if tok.RequestedScopes != "openid profile email" || tok.Scopes != "openid profile email" {
					t.Errorf("default token scopes %q / requested %q", tok.Scopes, tok.RequestedScopes)
				}
				assertGrants(t, app.op, 0)
				if writesSession(resp) {
					t.Error("a session cookie was written without a refresh")
				}
			})
			t.Run("should throw if the request is not authenticated", func(t *testing.T) {
				app := newTokensApp(t, monocloudtest.Config{}, Options{})
				setDefaultClient(t, app.client)
				tok, _, err := app.call(g.form, nil)
				if tok != nil || !errors.Is(err, ErrNoSession) {
					t.Fatalf("GetTokens = %+v, %v; want ErrNoSession", tok, err)
				}
				if ve := asError[*ValidationError](t, err); ve.Message != "Session does not exist" {
					t.Fatalf("message %q", ve.Message)
				}
			})
			t.Run("should refresh the tokens when forceRefresh is true", func(t *testing.T) {
				app := newTokensApp(t, monocloudtest.Config{}, Options{})
				setDefaultClient(t, app.client)
				app.signIn("")
				before := app.session()
				tok, resp, err := app.call(g.form, &GetTokensOptions{ForceRefresh: true})
				if err != nil {
					t.Fatal(err)
				}
				assertGrants(t, app.op, 1)
				if tok.AccessToken == before.AccessTokens[0].AccessToken || tok.AccessToken == "" {
					t.Error("access token not renewed")
				}
				if tok.RefreshToken == before.RefreshToken || tok.RefreshToken == "" {
					t.Error("rotated refresh token not returned")
				}
				if tok.IDToken == before.IDToken || tok.IDToken == "" {
					t.Error("new ID token not returned")
				}
				if tok.Scopes != "openid profile email" || tok.IsExpired || tok.AccessTokenExpiration != app.clock.Unix()+3600 {
					t.Errorf("tokens = %+v", tok)
				}
				if !writesSession(resp) {
					t.Fatal("the refreshed session was not written to the response")
				}
				after := app.session()
				if after.RefreshToken != tok.RefreshToken || after.IDToken != tok.IDToken || len(after.AccessTokens) != 1 || after.AccessTokens[0].AccessToken != tok.AccessToken {
					t.Fatalf("session after refresh = %+v", after)
				}
				again, _, err := app.call(g.form, nil)
				if err != nil || again.AccessToken != tok.AccessToken {
					t.Fatalf("next call = %+v, %v", again, err)
				}
				assertGrants(t, app.op, 1)
			})
		})
	}
}

// TestGetTokensOptionValidation: "should throw an error if options
// validation fails", with the SDK's messages.
func TestGetTokensOptionValidation(t *testing.T) {
	anonymous := newTokensApp(t, monocloudtest.Config{}, Options{})
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	for _, tc := range []struct {
		name string
		opts GetTokensOptions
		msg  string
	}{
		{"blank resource", GetTokensOptions{Resource: "   "}, "Resource must not be empty"},
		{"resource that is not a URL", GetTokensOptions{Resource: "abc"}, `Invalid resource "abc": Resource must be a valid URL without query or hash parameters`},
		{"resource with a query", GetTokensOptions{Resource: tkResA + " https://x.example.com/a?b=c"}, `Invalid resource "https://x.example.com/a?b=c": Resource must be a valid URL without query or hash parameters`},
		{"resource with a fragment", GetTokensOptions{Resource: "https://x.example.com/#f"}, `Invalid resource "https://x.example.com/#f": Resource must be a valid URL without query or hash parameters`},
		{"blank scopes", GetTokensOptions{Scopes: " \t "}, `Scopes must be a space-separated string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("without a session", func(t *testing.T) {
				// The SDK validates the options before it reads the session.
				_, err := anonymous.tokens(&tc.opts)
				if ve := asError[*ValidationError](t, err); ve.Message != tc.msg {
					t.Fatalf("message = %q, want %q", ve.Message, tc.msg)
				}
			})
			t.Run("with a session", func(t *testing.T) {
				_, err := app.tokens(&tc.opts)
				if ve := asError[*ValidationError](t, err); ve.Message != tc.msg {
					t.Fatalf("message = %q, want %q", ve.Message, tc.msg)
				}
				assertGrants(t, app.op, 0)
			})
		})
	}
}

// TestGetTokensWithoutRefreshToken: a refresh that is needed but impossible.
func TestGetTokensWithoutRefreshToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*testApp)
		opts   *GetTokensOptions
	}{
		{"should not refresh a user session if there is no refresh token in the session", func(a *testApp) { a.expireDefault() }, nil},
		{"should throw error if force refresh is true and no refresh token is found", func(*testApp) {}, &GetTokensOptions{ForceRefresh: true}},
		{"no token for the requested scopes", func(*testApp) {}, &GetTokensOptions{Scopes: "openid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			app.mutate(func(s *Session) { s.RefreshToken = "" })
			tc.mutate(app)
			_, err := app.tokens(tc.opts)
			if ve := asError[*ValidationError](t, err); ve.Message != "Session does not contain refresh token" || !errors.Is(err, ErrNoRefreshToken) {
				t.Fatalf("message = %q", ve.Message)
			}
			assertGrants(t, app.op, 0)
		})
	}
}

// TestGetTokensEarlyExpiry: tokens count as expired 30 seconds early.
func TestGetTokensEarlyExpiry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		left    int64 // seconds until the token's expiration
		refresh bool
	}{
		{"31 s left: valid", 31, false},
		{"30 s left: valid", 30, false},
		{"29 s left: refreshed", 29, true},
		{"token expiring in 20 s is treated as expired", 20, true},
		{"expired 10 s ago", -10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			old := app.defaultToken()
			app.clock.Set(time.Unix(old.AccessTokenExpiration-tc.left, 0))
			tok := app.mustTokens(nil)
			if tok.IsExpired {
				t.Errorf("IsExpired = true for %+v", tok)
			}
			if refreshed := tok.AccessToken != old.AccessToken; refreshed != tc.refresh {
				t.Fatalf("refreshed = %v, want %v", refreshed, tc.refresh)
			}
			if tc.refresh {
				assertGrants(t, app.op, 1)
			} else {
				assertGrants(t, app.op, 0)
			}
		})
	}

	t.Run("isExpired is true when the provider issues tokens living under 30 s", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{AccessTokenTTL: 20 * time.Second}, Options{})
		app.signIn("")
		tok := app.mustTokens(nil)
		if !tok.IsExpired || tok.AccessTokenExpiration != app.clock.Unix()+20 {
			t.Fatalf("tokens = %+v, want a 20 s token flagged expired", tok)
		}
		assertGrants(t, app.op, 1)
	})

	t.Run("newTokens", func(t *testing.T) {
		for _, tc := range []struct {
			exp, now int64
			want     bool
		}{{1000, 969, false}, {1000, 970, false}, {1000, 971, true}, {1000, 2000, true}} {
			if got := newTokens(&AccessToken{AccessTokenExpiration: tc.exp}, &Session{}, tc.now).IsExpired; got != tc.want {
				t.Errorf("exp %d now %d: IsExpired = %v, want %v", tc.exp, tc.now, got, tc.want)
			}
		}
	})
}

// TestFindToken ports the SDK's findToken tests (core/tests/utils.test.ts).
func TestFindToken(t *testing.T) {
	tok := func(resource, scopes, at string) AccessToken {
		return AccessToken{AccessToken: at, Resource: resource, RequestedScopes: scopes}
	}
	for _, tc := range []struct {
		name             string
		tokens           []AccessToken
		resource, scopes string
		want             string // access token found; "" for none
	}{
		{"should return undefined for empty token array", nil, "", "openid", ""},
		{"should find token without resource when no resource specified", []AccessToken{tok("", "openid", "t1")}, "", "openid", "t1"},
		{"should match token by resource and scopes", []AccessToken{tok(tkResB, "read", "t0"), tok(tkResA, "read", "t1")}, tkResA, "read", "t1"},
		{"should match token with scopes in different order", []AccessToken{tok(tkResA, "read write openid", "t1")}, tkResA, "openid write read", "t1"},
		{"should return undefined when resource does not match", []AccessToken{tok(tkResA, "read", "t1")}, tkResB, "read", ""},
		{"should return undefined when scopes do not match", []AccessToken{tok(tkResA, "read", "t1")}, tkResA, "write", ""},
		{"should handle tokens with undefined resource and scopes", []AccessToken{tok("", "", "t1")}, "", "", "t1"},
		{"should handle multiple matching tokens and return first", []AccessToken{tok(tkResA, "read", "t1"), tok(tkResA, "read", "t2")}, tkResA, "read", "t1"},
		{"should handle empty string resource and scopes", []AccessToken{tok("", "", "t1")}, "  ", " ", "t1"},
		{"should match tokens with whitespace-heavy resource and scopes", []AccessToken{tok("  "+tkResA+"\t "+tkResB+" ", " read\twrite  ", "t1")}, tkResB + " " + tkResA, "write read", "t1"},
		{"should not match when additional scopes are present in token", []AccessToken{tok(tkResA, "read write admin", "t1")}, tkResA, "read write", ""},
		{"should not match when additional scopes are requested", []AccessToken{tok(tkResA, "read", "t1")}, tkResA, "read write", ""},
		{"duplicates do not count", []AccessToken{tok(tkResA, "read read write", "t1")}, tkResA + " " + tkResA, "write read", "t1"},
		{"a subset of the resources does not match", []AccessToken{tok(tkResA+" "+tkResB, "read", "t1")}, tkResA, "read", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := findToken(tc.tokens, tc.resource, tc.scopes)
			switch {
			case got == nil && tc.want != "":
				t.Fatalf("no token found, want %s", tc.want)
			case got != nil && got.AccessToken != tc.want:
				t.Fatalf("found %s, want %q", got.AccessToken, tc.want)
			}
		})
	}
}

// TestGetTokensTokenSelection selects tokens stored in a session without a
// refresh token: a match is returned, a miss fails with "Session does not
// contain refresh token".
func TestGetTokensTokenSelection(t *testing.T) {
	far := time.Now().Add(time.Hour).Unix()
	stored := func(resource, scopes, at string) AccessToken {
		return AccessToken{AccessToken: at, AccessTokenExpiration: far, Scopes: "granted", Resource: resource, RequestedScopes: scopes}
	}
	for _, tc := range []struct {
		name      string
		resources []Indicator
		tokens    []AccessToken
		opts      *GetTokensOptions
		want      string // "" for no match
	}{
		{"should return the tokens", nil, []AccessToken{stored("", "openid profile email", "default")}, nil, "default"},
		{"{scopes:'profile openid'} with stored requestedScopes `openid profile`", nil,
			[]AccessToken{stored("", "openid profile email", "default"), stored("", "openid profile", "t1")}, &GetTokensOptions{Scopes: "profile openid"}, "t1"},
		{"should find the token with the resource from session", nil,
			[]AccessToken{stored("", "openid profile email", "default"), stored(tkResA, "", "t1")}, &GetTokensOptions{Resource: tkResA}, "t1"},
		{"should find the token with the undefined scopes", nil,
			[]AccessToken{stored(tkResA, "read", "t0"), stored(tkResA, "", "t1")}, &GetTokensOptions{Resource: tkResA}, "t1"},
		{"should find the token with scopes defined in indicator options", []Indicator{{Resource: tkResA, Scopes: "read write"}},
			[]AccessToken{stored(tkResA, "", "t0"), stored(tkResA, "write read", "t1")}, &GetTokensOptions{Resource: tkResA}, "t1"},
		{"an indicator without scopes selects the token without requested scopes", []Indicator{{Resource: tkResA, Scopes: "read"}, {Resource: tkResA}},
			[]AccessToken{stored(tkResA, "read", "t0"), stored(tkResA, "", "t1")}, &GetTokensOptions{Resource: tkResA}, "t1"},
		{"explicit scopes win over the indicator's", []Indicator{{Resource: tkResA, Scopes: "read write"}},
			[]AccessToken{stored(tkResA, "read write", "t0"), stored(tkResA, "read", "t1")}, &GetTokensOptions{Resource: tkResA, Scopes: "read"}, "t1"},
		{"resources in another order", nil,
			[]AccessToken{stored(tkResB+" "+tkResA, "read", "t1")}, &GetTokensOptions{Resource: tkResA + " " + tkResB, Scopes: "read"}, "t1"},
		{"no subset match: fewer scopes requested than the token's", nil,
			[]AccessToken{stored(tkResA, "read write admin", "t1")}, &GetTokensOptions{Resource: tkResA, Scopes: "read write"}, ""},
		{"no subset match: more scopes requested than the token's", nil,
			[]AccessToken{stored(tkResA, "read", "t1")}, &GetTokensOptions{Resource: tkResA, Scopes: "read write"}, ""},
		{"no subset match: one of the token's resources", nil,
			[]AccessToken{stored(tkResA+" "+tkResB, "read", "t1")}, &GetTokensOptions{Resource: tkResA, Scopes: "read"}, ""},
		{"the default token is not matched by scopes alone", nil,
			[]AccessToken{stored(tkResA, "openid profile email", "t1")}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: tc.resources})
			app.signIn("")
			app.mutate(func(s *Session) {
				s.RefreshToken = ""
				s.AccessTokens = tc.tokens
				s.AuthorizedResources = tkResA + " " + tkResB
			})
			tok, err := app.tokens(tc.opts)
			if tc.want == "" {
				if ve := asError[*ValidationError](t, err); ve.Message != "Session does not contain refresh token" || !errors.Is(err, ErrNoRefreshToken) {
					t.Fatalf("GetTokens = %+v, %v; want no match", tok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != tc.want || tok.IsExpired || tok.Scopes != "granted" {
				t.Fatalf("tokens = %+v, want %s", tok, tc.want)
			}
		})
	}
}

// TestGetTokensRefreshGrant checks the refresh grant requests (the SDK's
// refreshGrant() tests and the verified scenarios of the reference, 5.6).
func TestGetTokensRefreshGrant(t *testing.T) {
	t.Run("refresh with no options sends exactly grant_type and refresh_token", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		rt := app.session().RefreshToken
		app.expireDefault()
		tok := app.mustTokens(nil)
		body := app.op.LastTokenRequest()
		want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if body.Encode() != want.Encode() {
			t.Fatalf("refresh body = %s, want %s", body.Encode(), want.Encode())
		}
		s := app.session()
		if len(s.AccessTokens) != 1 || s.AccessTokens[0].AccessToken != tok.AccessToken || s.AccessTokens[0].RequestedScopes != s.AuthorizedScopes {
			t.Fatalf("session tokens = %+v, want the default token replaced", s.AccessTokens)
		}
		if tok.IsExpired || tok.RequestedScopes != "openid profile email" {
			t.Fatalf("tokens = %+v", tok)
		}
	})

	t.Run("should perform the refresh token grant at token endpoint", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA + " " + tkResB, Scopes: "api1 api2"}}})
		app.signIn("")
		rt := app.session().RefreshToken
		tok := app.mustTokens(&GetTokensOptions{Resource: tkResA + " " + tkResB, Scopes: "api1 api2"})
		body := app.op.LastTokenRequest()
		want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"api1 api2"}, "resource": {tkResA, tkResB}}
		if body.Encode() != want.Encode() || !slices.Equal(body["resource"], []string{tkResA, tkResB}) {
			t.Fatalf("refresh body = %s, want %s", body.Encode(), want.Encode())
		}
		if tok.Resource != tkResA+" "+tkResB || tok.RequestedScopes != "api1 api2" || tok.Scopes != "api1 api2" {
			t.Fatalf("tokens = %+v", tok)
		}
	})

	t.Run("{resource:R} with resources:[{resource:R, scopes:'read write'}], no token for R", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read write"}}})
		app.signIn("")
		def := app.defaultToken()
		tok := app.mustTokens(&GetTokensOptions{Resource: tkResA})
		body := app.op.LastTokenRequest()
		if body.Get("scope") != "read write" || !slices.Equal(body["resource"], []string{tkResA}) {
			t.Fatalf("refresh body = %s, want scope=read+write&resource=R", body.Encode())
		}
		if tok.Resource != tkResA || tok.RequestedScopes != "read write" || tok.Scopes != "read write" || tok.IsExpired {
			t.Fatalf("tokens = %+v", tok)
		}
		s := app.session()
		if len(s.AccessTokens) != 2 || s.AccessTokens[0] != def || s.AccessTokens[1].AccessToken != tok.AccessToken {
			t.Fatalf("session tokens = %+v, want the default then the new one appended", s.AccessTokens)
		}
		if again := app.mustTokens(&GetTokensOptions{Resource: tkResA}); again.AccessToken != tok.AccessToken {
			t.Fatal("the token filed under R was not found again")
		}
		if def := app.mustTokens(nil); def.Resource != "" || def.RequestedScopes != s.AuthorizedScopes || s.AuthorizedScopes != "openid profile email read write" {
			t.Fatalf("default token after = %+v (authorized scopes %q)", def, s.AuthorizedScopes)
		}
		assertGrants(t, app.op, 1)
	})

	t.Run("{resource:R}, no resources config, stored token {resource:R, no requestedScopes}", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.mutate(func(s *Session) {
			s.AccessTokens = append(s.AccessTokens, AccessToken{AccessToken: "for-R", AccessTokenExpiration: app.clock.Unix() + 600, Scopes: "x", Resource: tkResA})
		})
		if tok := app.mustTokens(&GetTokensOptions{Resource: tkResA}); tok.AccessToken != "for-R" {
			t.Fatalf("tokens = %+v", tok)
		}
		assertGrants(t, app.op, 0)
	})

	t.Run("{scopes:'x y'} with a default resource D", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{DefaultAuthParams: AuthParams{Scopes: "openid profile x y", Resource: tkResD}})
		app.signIn("")
		tok := app.mustTokens(&GetTokensOptions{Scopes: "x y"})
		body := app.op.LastTokenRequest()
		if body.Get("scope") != "x y" || !slices.Equal(body["resource"], []string{tkResD}) {
			t.Fatalf("refresh body = %s, want scope=x+y&resource=D", body.Encode())
		}
		if tok.Resource != tkResD || tok.RequestedScopes != "x y" {
			t.Fatalf("tokens = %+v, want filed under {D, x y}", tok)
		}
		s := app.session()
		if len(s.AccessTokens) != 2 || s.AccessTokens[0].RequestedScopes != "openid profile x y" || s.AccessTokens[0].Resource != tkResD {
			t.Fatalf("session tokens = %+v", s.AccessTokens)
		}
	})
}

// TestGetTokensDefaultResource covers the SDK bug fixed by the port
// (reference 5.6 and 10.3): with a configured default resource the default
// token is refreshed in place.
func TestGetTokensDefaultResource(t *testing.T) {
	opts := Options{DefaultAuthParams: AuthParams{Resource: tkResD}}

	t.Run("refresh of the expired default token replaces it", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, opts)
		app.signIn("")
		old := app.defaultToken()
		if old.Resource != tkResD || old.RequestedScopes != "openid profile email" {
			t.Fatalf("default token after sign-in = %+v", old)
		}
		app.expireDefault()
		tok := app.mustTokens(nil)
		if tok.AccessToken == old.AccessToken || tok.IsExpired {
			t.Fatalf("GetTokens returned the stale token: %+v", tok)
		}
		body := app.op.LastTokenRequest()
		if !slices.Equal(body["resource"], []string{tkResD}) || body.Has("scope") {
			t.Fatalf("refresh body = %s, want resource=D and no scope", body.Encode())
		}
		s := app.session()
		if len(s.AccessTokens) != 1 || s.AccessTokens[0].AccessToken != tok.AccessToken || s.AccessTokens[0].Resource != tkResD || s.AccessTokens[0].RequestedScopes != s.AuthorizedScopes {
			t.Fatalf("session tokens = %+v, want only the new default token", s.AccessTokens)
		}
		if again := app.mustTokens(nil); again.AccessToken != tok.AccessToken {
			t.Fatal("next call returned another token")
		}
		assertGrants(t, app.op, 1)
	})

	t.Run("a session with no default token gets one", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, opts)
		app.signIn("")
		app.mutate(func(s *Session) { s.AccessTokens = nil })
		tok, err := app.tokens(nil)
		if err != nil {
			t.Fatalf("GetTokens: %v (the SDK throws Access token not found here)", err)
		}
		if tok.Resource != tkResD || tok.RequestedScopes != "openid profile email" || tok.IsExpired {
			t.Fatalf("tokens = %+v", tok)
		}
		if s := app.session(); len(s.AccessTokens) != 1 {
			t.Fatalf("session tokens = %+v", s.AccessTokens)
		}
		app.mustTokens(nil)
		assertGrants(t, app.op, 1)
	})
}

// TestGetTokensRefreshSession ports the SDK's refreshSession() tests and
// the getTokens() instance-helper tests about what a refresh stores.
func TestGetTokensRefreshSession(t *testing.T) {
	t.Run("should refresh a session", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{Claims: map[string]any{"name": "Ada"}}, Options{})
		app.signIn("")
		before := app.session()
		app.mutate(func(s *Session) { s.Extra = map[string]any{"kept": "yes"} })
		app.expireDefault()
		tok := app.mustTokens(nil)
		after := app.session()
		if after.RefreshToken != tok.RefreshToken || after.RefreshToken == before.RefreshToken {
			t.Error("rotated refresh token not stored")
		}
		if after.IDToken == before.IDToken || after.IDToken != tok.IDToken {
			t.Error("new ID token not stored")
		}
		if after.User["name"] != "Ada" || after.User.Subject() != "user-1" || after.Extra["kept"] != "yes" {
			t.Errorf("user %v, extra %v", after.User, after.Extra)
		}
		for _, filtered := range []string{"iss", "aud", "exp", "iat", "nonce", "at_hash", "auth_time"} {
			if _, ok := after.User[filtered]; ok {
				t.Errorf("filtered claim %q in the user after refresh", filtered)
			}
		}
	})

	t.Run("should not save the new access token in the cookie if RefreshGrantOptions.scopes or RefreshGrantOptions.resource was passed in", func(t *testing.T) {
		// Despite its title, the SDK test shows the matching token replaced.
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read write"}, {Resource: tkResB, Scopes: "read"}}})
		app.signIn("")
		app.mustTokens(&GetTokensOptions{Resource: tkResA})
		app.mustTokens(&GetTokensOptions{Resource: tkResB})
		s := app.session()
		def, oldA, b := s.AccessTokens[0], s.AccessTokens[1], s.AccessTokens[2]
		app.clock.Set(time.Unix(oldA.AccessTokenExpiration+1, 0))
		tok := app.mustTokens(&GetTokensOptions{Resource: tkResA})
		s = app.session()
		if len(s.AccessTokens) != 3 || s.AccessTokens[0] != def || s.AccessTokens[1] != b || s.AccessTokens[2].AccessToken != tok.AccessToken || tok.AccessToken == oldA.AccessToken {
			t.Fatalf("session tokens = %+v; want the default and B untouched and A replaced (appended)", s.AccessTokens)
		}
		if s.AccessTokens[2].Resource != tkResA || s.AccessTokens[2].RequestedScopes != "read write" {
			t.Fatalf("refreshed token filed under %q/%q", s.AccessTokens[2].Resource, s.AccessTokens[2].RequestedScopes)
		}
		assertGrants(t, app.op, 3)
	})

	t.Run("should not update the authorizedScopes on refresh", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read"}}})
		app.signIn("")
		before := app.session().AuthorizedScopes
		app.mustTokens(&GetTokensOptions{Resource: tkResA})
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		if after := app.session().AuthorizedScopes; after != before || before != "openid profile email read" {
			t.Fatalf("authorizedScopes %q -> %q", before, after)
		}
	})

	t.Run("should save with the old refresh token if the updated token response does not have one", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{DisableRotation: true}, Options{})
		app.signIn("")
		rt := app.session().RefreshToken
		tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		if tok.RefreshToken != rt || app.session().RefreshToken != rt {
			t.Fatalf("refresh token %q -> %q (session %q)", rt, tok.RefreshToken, app.session().RefreshToken)
		}
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		assertGrants(t, app.op, 2)
	})

	t.Run("should refresh session without id token and userinfo", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{RefetchUserInfo: new(true)})
		app.signIn("")
		before := app.session()
		app.op.SetTokenFault(monocloudtest.Fault{Body: `{"access_token":"plain-at","token_type":"Bearer","expires_in":600,"scope":"profile"}`})
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusInternalServerError}) // must not be called: no openid
		tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		after := app.session()
		if tok.AccessToken != "plain-at" || tok.Scopes != "profile" || tok.AccessTokenExpiration != app.clock.Unix()+600 {
			t.Fatalf("tokens = %+v", tok)
		}
		if after.IDToken != before.IDToken || after.RefreshToken != before.RefreshToken || mustJSON(t, after.User) != mustJSON(t, before.User) {
			t.Fatalf("session changed beyond the access token: %+v", after)
		}
	})

	for _, tc := range []struct {
		name, body, msg string
	}{
		{"should throw error if expires_in is not an integer", `{"access_token":"a","token_type":"Bearer","scope":"openid","expires_in":"soon"}`, "Invalid 'expires_in' field"},
		{"should throw error if scope is not present in the response", `{"access_token":"a","token_type":"Bearer","expires_in":60}`, "Missing or invalid 'scope' field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			before := app.session()
			app.op.SetTokenFault(monocloudtest.Fault{Body: tc.body})
			_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
			if ve := asError[*ValidationError](t, err); ve.Message != tc.msg {
				t.Fatalf("message = %q, want %q", ve.Message, tc.msg)
			}
			assertSameSession(t, app.session(), before)
		})
	}

	t.Run("should be able to customize the session using onSessionCreating", func(t *testing.T) {
		var mu sync.Mutex
		var calls []map[string]any
		app := newTokensApp(t, monocloudtest.Config{}, Options{OnSessionCreating: func(_ context.Context, s *Session, idTokenClaims, userInfo, appState map[string]any) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, maps.Clone(idTokenClaims))
			if s.Extra == nil {
				s.Extra = map[string]any{}
			}
			s.Extra["hook"] = float64(len(calls))
			return nil
		}})
		app.signIn("")
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		s := app.session()
		if len(calls) != 2 || calls[1]["sub"] != "user-1" || s.Extra["hook"] != float64(2) {
			t.Fatalf("hook calls %d (claims %v), session extra %v", len(calls), calls, s.Extra)
		}
	})

	t.Run("an error of onSessionCreating aborts the refresh", func(t *testing.T) {
		boom := errors.New("boom")
		fail := false
		app := newTokensApp(t, monocloudtest.Config{}, Options{OnSessionCreating: func(context.Context, *Session, map[string]any, map[string]any, map[string]any) error {
			if fail {
				return boom
			}
			return nil
		}})
		app.signIn("")
		before := app.session()
		fail = true
		if _, err := app.tokens(&GetTokensOptions{ForceRefresh: true}); !errors.Is(err, boom) {
			t.Fatalf("GetTokens = %v, want the hook's error", err)
		}
		assertSameSession(t, app.session(), before)
	})
}

// TestGetTokensRefetchUserInfo covers refetchUserInfo on refresh.
func TestGetTokensRefetchUserInfo(t *testing.T) {
	const info = `{"sub":"user-1","nickname":"from-userinfo"}`
	for _, tc := range []struct {
		name    string
		option  *bool
		perCall *bool
		want    bool
	}{
		{"should fetch userinfo when fetch useinfo is enabled", nil, new(true), true},
		{"the client's RefetchUserInfo option applies", new(true), nil, true},
		{"the call's RefetchUserInfo=false wins over the option", new(true), new(false), false},
		{"no refetch by default", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{Claims: map[string]any{"name": "Ada"}}, Options{RefetchUserInfo: tc.option})
			app.signIn("")
			app.op.SetUserinfoFault(monocloudtest.Fault{Body: info})
			app.mustTokens(&GetTokensOptions{ForceRefresh: true, RefetchUserInfo: tc.perCall})
			u := app.session().User
			if got := u["nickname"] == "from-userinfo"; got != tc.want {
				t.Fatalf("userinfo merged = %v, want %v (user %v)", got, tc.want, u)
			}
			if u["name"] != "Ada" || u.Subject() != "user-1" {
				t.Fatalf("claims lost: %v", u)
			}
		})
	}

	t.Run("refetchUserInfo has no effect without a refresh", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.op.SetUserinfoFault(monocloudtest.Fault{Body: info})
		app.mustTokens(&GetTokensOptions{RefetchUserInfo: new(true)})
		if _, ok := app.session().User["nickname"]; ok {
			t.Fatal("userinfo fetched without a refresh")
		}
	})

	t.Run("should refresh the tokens and fetch from userinfo using the new access token if specified", func(t *testing.T) {
		// The provider rejects an access token it did not issue, so a
		// refetch with the token of the (faked) refresh response fails.
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		before := app.session()
		app.op.SetTokenFault(monocloudtest.Fault{Body: `{"access_token":"not-issued","token_type":"Bearer","expires_in":600,"scope":"openid profile email"}`})
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true, RefetchUserInfo: new(true)})
		// A failed userinfo call is a token error, as in the SDK since 0.2.5.
		if te := asError[*TokenError](t, err); te.Code != CodeInvalidToken || te.Raw == nil || te.Raw.StatusCode != http.StatusUnauthorized {
			t.Fatalf("TokenError %+v, want invalid_token from userinfo with its answer", te)
		}
		assertSameSession(t, app.session(), before)
	})

	t.Run("should only fetch userinfo when openid scope is present", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read"}}})
		app.signIn("")
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusInternalServerError})
		if _, err := app.tokens(&GetTokensOptions{Resource: tkResA, RefetchUserInfo: new(true)}); err != nil {
			t.Fatalf("userinfo fetched for a token without openid: %v", err)
		}
		if _, err := app.tokens(&GetTokensOptions{ForceRefresh: true, RefetchUserInfo: new(true)}); err == nil {
			t.Fatal("userinfo not fetched for the default (openid) token")
		}
	})

	for _, tc := range []struct {
		name  string
		fault monocloudtest.Fault
	}{
		{"should fail if userinfo fails", monocloudtest.Fault{Status: http.StatusBadRequest}},
		{"should throw error if userinfo fails (500)", monocloudtest.Fault{Status: http.StatusInternalServerError}},
		{"userinfo of another subject", monocloudtest.Fault{Body: `{"sub":"mallory"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			before := app.session()
			app.op.SetUserinfoFault(tc.fault)
			tok, resp, err := app.call(formCtx, &GetTokensOptions{ForceRefresh: true, RefetchUserInfo: new(true)})
			if err == nil || tok != nil {
				t.Fatalf("GetTokens = %+v, %v; want an error", tok, err)
			}
			if writesSession(resp) {
				t.Error("session written despite the error")
			}
			assertSameSession(t, app.session(), before)
		})
	}
}

// TestGetTokensProviderFaults: a failed refresh returns the right error
// type, leaves the session intact, and the next call succeeds with one more
// grant once the provider recovers.
func TestGetTokensProviderFaults(t *testing.T) {
	type check func(t *testing.T, err error)
	isHTTP := func(status int) check {
		return func(t *testing.T, err error) {
			if he := asError[*HTTPError](t, err); he.StatusCode != status {
				t.Errorf("HTTPError status %d, want %d", he.StatusCode, status)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		fault  func(app *testApp) monocloudtest.Fault
		opts   Options
		check  check
		within time.Duration
	}{
		{
			name: "should throw error if refresh grant fails: 500",
			fault: func(*testApp) monocloudtest.Fault {
				return monocloudtest.Fault{Status: 500, Body: `{"error":"server_error"}`}
			},
			check: func(t *testing.T, err error) {
				isHTTP(500)(t, err)
				if he := asError[*HTTPError](t, err); he.Message != "Error while performing refresh token grant. Unexpected status code: 500" {
					t.Errorf("message %q", he.Message)
				}
			},
		},
		{
			name: "should return a failed result if server returned a 400 (error and description)",
			fault: func(*testApp) monocloudtest.Fault {
				return monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"refresh token expired"}`}
			},
			check: func(t *testing.T, err error) {
				if oe := asError[*OPError](t, err); oe.Code != "invalid_grant" || oe.Description != "refresh token expired" || oe.StatusCode != 400 {
					t.Errorf("OPError %+v", oe)
				}
			},
		},
		{
			name:  "should return a failed result if server returned a 400 (no error fields)",
			fault: func(*testApp) monocloudtest.Fault { return monocloudtest.Fault{Status: 400, Body: `{}`} },
			check: func(t *testing.T, err error) {
				if oe := asError[*OPError](t, err); oe.Code != "refresh_grant_failed" || oe.Description != "Refresh token grant failed" {
					t.Errorf("OPError %+v", oe)
				}
			},
		},
		{
			name:  "garbage JSON",
			fault: func(*testApp) monocloudtest.Fault { return monocloudtest.Fault{Body: `{"access_token":`} },
			check: func(t *testing.T, err error) {
				if he := asError[*HTTPError](t, err); !strings.HasPrefix(he.Message, "Failed to parse response body as JSON") {
					t.Errorf("message %q", he.Message)
				}
			},
		},
		{
			name:   "hang past ResponseTimeout",
			opts:   Options{ResponseTimeout: time.Second},
			fault:  func(*testApp) monocloudtest.Fault { return monocloudtest.Fault{Delay: 30 * time.Second} },
			within: 2500 * time.Millisecond,
			check: func(t *testing.T, err error) {
				asError[*HTTPError](t, err)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%v does not match context.DeadlineExceeded", err)
				}
			},
		},
		{
			name: "should give failed response if id token validation fails: another subject",
			fault: func(app *testApp) monocloudtest.Fault {
				now := time.Now().Unix()
				idt := app.op.SignIDToken(app.t, map[string]any{"iss": app.op.Issuer(), "sub": "mallory", "aud": "test-client", "iat": now, "exp": now + 3600})
				return monocloudtest.Fault{Body: fmt.Sprintf(`{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid profile email","id_token":%q}`, idt)}
			},
			check: func(t *testing.T, err error) { asError[*TokenError](t, err) },
		},
		{
			name: "should give failed response if id token validation fails: another audience",
			fault: func(app *testApp) monocloudtest.Fault {
				now := time.Now().Unix()
				idt := app.op.SignIDToken(app.t, map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "someone-else", "iat": now, "exp": now + 3600})
				return monocloudtest.Fault{Body: fmt.Sprintf(`{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid","id_token":%q}`, idt)}
			},
			check: func(t *testing.T, err error) { asError[*TokenError](t, err) },
		},
		{
			name: "should give failed response if id token validation fails: another nonce",
			fault: func(app *testApp) monocloudtest.Fault {
				now := time.Now().Unix()
				idt := app.op.SignIDToken(app.t, map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "test-client", "iat": now, "exp": now + 3600, "nonce": "not-the-sign-in-nonce"})
				return monocloudtest.Fault{Body: fmt.Sprintf(`{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid","id_token":%q}`, idt)}
			},
			check: func(t *testing.T, err error) {
				if te := asError[*TokenError](t, err); te.Message != "Nonce mismatch" {
					t.Errorf("message %q", te.Message)
				}
			},
		},
		{
			name: "should give failed response if id token validation fails: expired",
			fault: func(app *testApp) monocloudtest.Fault {
				now := time.Now().Unix()
				idt := app.op.SignIDToken(app.t, map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "test-client", "iat": now - 7200, "exp": now - 3600})
				return monocloudtest.Fault{Body: fmt.Sprintf(`{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid","id_token":%q}`, idt)}
			},
			check: func(t *testing.T, err error) { asError[*TokenError](t, err) },
		},
		{
			name: "should give failed response if id token validation fails: not a JWT",
			fault: func(*testApp) monocloudtest.Fault {
				return monocloudtest.Fault{Body: `{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid","id_token":"not.a.jwt"}`}
			},
			check: func(t *testing.T, err error) { asError[*TokenError](t, err) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, tc.opts)
			app.signIn("")
			before := app.session()
			app.expireDefault()
			app.op.SetTokenFault(tc.fault(app))
			start := time.Now()
			tok, resp, err := app.call(formCtx, nil)
			elapsed := time.Since(start)
			if err == nil || tok != nil {
				t.Fatalf("GetTokens = %+v, %v; want an error", tok, err)
			}
			tc.check(t, err)
			if tc.within > 0 && elapsed > tc.within {
				t.Errorf("GetTokens took %v, want under %v", elapsed, tc.within)
			}
			if writesSession(resp) {
				t.Error("a session cookie was written despite the failed refresh")
			}
			assertSameSession(t, app.session(), before)
			grants := app.op.RefreshGrants()

			app.op.SetTokenFault(monocloudtest.Fault{})
			tok, err = app.tokens(nil)
			if err != nil {
				t.Fatalf("after the provider recovered: %v", err)
			}
			if tok.AccessToken == before.AccessTokens[0].AccessToken || tok.IsExpired {
				t.Fatalf("tokens after recovery = %+v", tok)
			}
			assertGrants(t, app.op, grants+1)
		})
	}

	t.Run("should return a failed result if server is unreachable", func(t *testing.T) {
		tr := &fakeTransport{}
		app := newTokensApp(t, monocloudtest.Config{}, Options{HTTPClient: &http.Client{Transport: tr}})
		app.signIn("")
		before := app.session()
		tr.failPath("/token", 0)
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		if he := asError[*HTTPError](t, err); he.StatusCode != 0 || !strings.Contains(he.Message, "connection refused") {
			t.Fatalf("HTTPError %+v", he)
		}
		assertSameSession(t, app.session(), before)
		tr.heal()
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		assertGrants(t, app.op, 1)
	})

	t.Run("should throw error if jwks fetch fails", func(t *testing.T) {
		tr := &fakeTransport{}
		app := newTokensApp(t, monocloudtest.Config{}, Options{HTTPClient: &http.Client{Transport: tr}})
		app.signIn("")
		before := app.session()
		app.op.RotateKey(t) // the refreshed ID token needs the new key
		app.clock.Advance(provider.DefaultRefetchInterval)
		tr.failPath("/jwks", 0)
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		if err == nil {
			t.Fatal("refresh succeeded without the provider's keys")
		}
		assertSameSession(t, app.session(), before)
		// The provider could not be reached: an *HTTPError, as the SDK's
		// MonoCloudHttpError, not an invalid token.
		asError[*HTTPError](t, err)
	})

	t.Run("a refreshed ID token may repeat the sign-in nonce", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		nonce := unverifiedClaim(app.session().IDToken, "nonce")
		if nonce == "" {
			t.Fatal("sign-in ID token has no nonce")
		}
		now := time.Now().Unix()
		idt := app.op.SignIDToken(t, map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "test-client", "iat": now, "exp": now + 3600, "nonce": nonce})
		app.op.SetTokenFault(monocloudtest.Fault{Body: fmt.Sprintf(`{"access_token":"at-x","token_type":"Bearer","expires_in":3600,"scope":"openid","id_token":%q}`, idt)})
		if tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true}); tok.IDToken != idt {
			t.Fatalf("tokens = %+v", tok)
		}
	})

	t.Run("a refresh token the provider does not know gives its invalid_grant", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.mutate(func(s *Session) { s.RefreshToken = "unknown" })
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		if oe := asError[*OPError](t, err); oe.Code != "invalid_grant" || oe.StatusCode != http.StatusBadRequest {
			t.Fatalf("OPError %+v", oe)
		}
	})

	t.Run("a refreshed ID token signed with a rotated key is accepted", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.op.RotateKey(t)
		app.clock.Advance(provider.DefaultRefetchInterval)
		fetches := app.op.JWKSRequests()
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		// The unknown kid costs exactly one JWKS fetch; the new key is then cached.
		if got := app.op.JWKSRequests() - fetches; got != 1 {
			t.Errorf("JWKS fetched %d times after the key rotation, want 1", got)
		}
	})
}

// TestGetTokensCookiePersistence: the refreshed session reaches the browser
// through a real server.
func TestGetTokensCookiePersistence(t *testing.T) {
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			var opts Options
			var store *fakeStore
			if mode.store {
				store = &fakeStore{}
				opts.Session.Store = store.asStore()
			}
			app := newTokensApp(t, monocloudtest.Config{}, opts)
			app.signIn("")
			var key string
			if store != nil {
				key = store.keys()[0]
			}
			app.expireDefault()
			resp, body := app.get("/tokens")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /tokens: %d %s", resp.StatusCode, body)
			}
			if !writesSession(resp) {
				t.Fatal("no Set-Cookie for the refreshed session")
			}
			var first Tokens
			if err := json.Unmarshal([]byte(body), &first); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				resp, body = app.get("/tokens")
				var next Tokens
				_ = json.Unmarshal([]byte(body), &next)
				if resp.StatusCode != http.StatusOK || next.AccessToken != first.AccessToken || writesSession(resp) {
					t.Fatalf("next request: %d %s (Set-Cookie %v)", resp.StatusCode, body, cookieNames(resp.Cookies()))
				}
			}
			assertGrants(t, app.op, 1)
			if store != nil {
				if keys := store.keys(); !slices.Equal(keys, []string{key}) {
					t.Fatalf("store keys %v, want the session's key %q kept", keys, key)
				}
			}
		})
	}
}

func TestTokensJSON(t *testing.T) {
	full := Tokens{AccessToken: "at", AccessTokenExpiration: 1700000000, Scopes: "openid", Resource: tkResA, RequestedScopes: "openid", IDToken: "idt", RefreshToken: "rt", IsExpired: true}
	b, _ := json.Marshal(full)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	want := []string{"accessToken", "accessTokenExpiration", "idToken", "isExpired", "refreshToken", "requestedScopes", "resource", "scopes"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("JSON keys %v, want the SDK's MonoCloudTokens %v", got, want)
	}
	if m["accessTokenExpiration"] != float64(1700000000) || m["isExpired"] != true {
		t.Fatalf("JSON %s", b)
	}
	b, _ = json.Marshal(Tokens{AccessToken: "at", Scopes: "openid"})
	if string(b) != `{"accessToken":"at","accessTokenExpiration":0,"scopes":"openid","isExpired":false}` {
		t.Fatalf("optional fields not omitted: %s", b)
	}
	var back Tokens
	if err := json.Unmarshal([]byte(`{"accessToken":"at","accessTokenExpiration":5,"scopes":"s","resource":"r","requestedScopes":"q","idToken":"i","refreshToken":"f","isExpired":true}`), &back); err != nil || back != (Tokens{"at", 5, "s", "r", "q", "i", "f", true}) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

func TestTokensToken(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok := (&Tokens{AccessToken: "at", AccessTokenExpiration: exp.Unix(), Scopes: "openid profile", IDToken: "idt", RefreshToken: "rt"}).Token()
	if tok.AccessToken != "at" || tok.TokenType != "Bearer" || !tok.Expiry.Equal(exp) || !tok.Valid() {
		t.Fatalf("oauth2 token = %+v", tok)
	}
	// An oauth2.Config.TokenSource built from it must not refresh behind
	// the session's back.
	if tok.RefreshToken != "" {
		t.Fatalf("oauth2 token carries the refresh token %q", tok.RefreshToken)
	}
	if tok.Extra("id_token") != "idt" || tok.Extra("scope") != "openid profile" {
		t.Fatalf("extras id_token=%v scope=%v", tok.Extra("id_token"), tok.Extra("scope"))
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	tok.SetAuthHeader(r)
	if r.Header.Get("Authorization") != "Bearer at" {
		t.Fatalf("Authorization %q", r.Header.Get("Authorization"))
	}
	if old := (&Tokens{AccessToken: "at", AccessTokenExpiration: time.Now().Add(-time.Minute).Unix()}).Token(); old.Valid() {
		t.Fatal("an expired token is Valid")
	}
}

// TestGetTokensAllocsDoNotGrowWithTokens: once the session is decoded,
// finding a token allocates the same with 1 or 8 tokens in the session.
func TestGetTokensAllocsDoNotGrowWithTokens(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	allocs := func(extra int) float64 {
		app.mutate(func(s *Session) {
			s.AccessTokens = s.AccessTokens[:1]
			for i := range extra {
				// Put the default token last so every token is compared.
				s.AccessTokens = slices.Insert(s.AccessTokens, 0, AccessToken{AccessToken: fmt.Sprintf("t%d", i), AccessTokenExpiration: app.clock.Unix() + 3600, Scopes: "read", Resource: fmt.Sprintf("https://r%d.example.com https://x.example.com", i), RequestedScopes: "read write"})
			}
		})
		r := app.request(http.MethodGet, "/")
		st := &requestState{c: app.client, r: r}
		if _, err := app.client.getTokens(r.Context(), st, nil); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(100, func() {
			if _, err := app.client.getTokens(r.Context(), st, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, eight := allocs(0), allocs(7)
	if eight > one || one > 2 {
		t.Fatalf("allocations per GetTokens: %v with 1 token, %v with 8", one, eight)
	}
}

// benchApp returns a signed-in app whose session holds n access tokens,
// the default one last, and a request carrying its cookies.
func benchApp(b *testing.B, n int) (*testApp, *http.Request) {
	app := newTokensApp(b, monocloudtest.Config{}, Options{})
	app.signIn("")
	app.mutate(func(s *Session) {
		for i := range n - 1 {
			s.AccessTokens = slices.Insert(s.AccessTokens, 0, AccessToken{AccessToken: fmt.Sprintf("token-%d-%s", i, strings.Repeat("x", 200)), AccessTokenExpiration: app.clock.Unix() + 3600, Scopes: "read", Resource: fmt.Sprintf("https://r%d.example.com", i), RequestedScopes: "read write"})
		}
	})
	return app, app.request(http.MethodGet, "/tokens")
}

// tkDiscard is a ResponseWriter that keeps nothing.
type tkDiscard struct{ h http.Header }

func (d *tkDiscard) Header() http.Header         { return d.h }
func (d *tkDiscard) Write(p []byte) (int, error) { return len(p), nil }
func (d *tkDiscard) WriteHeader(int)             {}

func benchServe(b *testing.B, n int, inner func(c *Client, r *http.Request) error) {
	app, req := benchApp(b, n)
	var err error
	h := app.client.AuthMiddleware(protectNone)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = inner(app.client, r)
		w.WriteHeader(http.StatusNoContent)
	}))
	w := &tkDiscard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
		if err != nil {
			b.Fatal(err)
		}
	}
	if app.op.RefreshGrants() != 0 || len(w.h.Values("Set-Cookie")) != 0 {
		b.Fatalf("hot path refreshed or wrote cookies")
	}
}

// BenchmarkGetTokensHotPath: GetTokens(ctx) returning a valid token under
// the middleware. Compare with BenchmarkMiddlewareSessionDecodeOnly for
// GetTokens' own cost.
func BenchmarkGetTokensHotPath(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			benchServe(b, n, func(c *Client, r *http.Request) error {
				tok, err := c.GetTokens(r.Context(), nil)
				if err == nil && tok.IsExpired {
					err = errors.New("expired")
				}
				return err
			})
		})
	}
}

// BenchmarkMiddlewareSessionDecodeOnly: the middleware and Session(ctx)
// (which also copies the session), and the middleware and the bare decode
// of the request's session, the exact baseline of GetTokens. Both hit the
// cache of decoded cookies (sessioncache.go) after the first iteration.
func BenchmarkMiddlewareSessionDecodeOnly(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("Session(ctx)/tokens=%d", n), func(b *testing.B) {
			benchServe(b, n, func(c *Client, r *http.Request) error {
				_, err := c.Session(r.Context())
				return err
			})
		})
		b.Run(fmt.Sprintf("load/tokens=%d", n), func(b *testing.B) {
			benchServe(b, n, func(c *Client, r *http.Request) error {
				sc, err := c.reqState(r.Context()).lookup(r.Context())
				if err != nil {
					return err
				}
				if sc == nil {
					return ErrNoSession
				}
				return nil
			})
		})
	}
}

// TestGetTokensRefusesResourceNotRequestedAtSignIn: a resource the user
// never authorized is refused before the provider is asked, since some
// providers consume the refresh token before they reject the resource.
func TestGetTokensRefusesResourceNotRequestedAtSignIn(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read"}}})
	app.signIn("")
	_, err := app.tokens(&GetTokensOptions{Resource: "https://never-requested.example.com"})
	if ve := asError[*ValidationError](t, err); !strings.Contains(ve.Message, `"https://never-requested.example.com" was not requested at sign-in`) || !errors.Is(err, ErrResourceNotRequested) {
		t.Fatalf("%q: message = %q", err, ve.Message)
	}
	if errors.Is(err, ErrNoRefreshToken) || errors.Is(ErrNoRefreshToken, ErrResourceNotRequested) {
		t.Error("the sentinels match each other")
	}
	assertGrants(t, app.op, 0)
	if _, err := app.tokens(&GetTokensOptions{Resource: tkResA}); err != nil {
		t.Fatalf("a configured resource: %v", err)
	}
	assertGrants(t, app.op, 1)
}

// TestGetTokensResourceNotRequestedWithoutRefreshToken: on a session
// without a refresh token, a resource never requested is named as such,
// not masked by ErrNoRefreshToken (issue 19, slips).
func TestGetTokensResourceNotRequestedWithoutRefreshToken(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	app.mutate(func(s *Session) { s.RefreshToken = "" })
	_, err := app.tokens(&GetTokensOptions{Resource: "https://never-requested.example.com"})
	if !errors.Is(err, ErrResourceNotRequested) || errors.Is(err, ErrNoRefreshToken) {
		t.Fatalf("err = %v, want ErrResourceNotRequested only", err)
	}
	assertGrants(t, app.op, 0)
}

// TestGetTokensDuringStoreOutage: a refresh that cannot lock the session
// does not call the provider, and the session is intact afterwards.
func TestGetTokensDuringStoreOutage(t *testing.T) {
	store := &fakeStore{}
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	a.signIn("")
	a.expireDefault()
	signedIn := a.session()
	store.setDown(errStoreDown)
	if status, _, _, _ := a.httpTokens(a.cookies(), ""); status == http.StatusOK {
		t.Fatal("GetTokens succeeded with the store down")
	}
	if a.op.RefreshGrants() != 0 {
		t.Fatalf("%d refresh grants with the store down", a.op.RefreshGrants())
	}
	store.setDown(nil)
	if s := a.session(); s == nil || s.RefreshToken != signedIn.RefreshToken {
		t.Fatal("session changed by the outage")
	}
	if status, _, _, err := a.httpTokens(a.cookies(), ""); status != http.StatusOK {
		t.Fatalf("after the outage: %d %v", status, err)
	}
}

// TestGetTokensWithoutExpiresIn is the OpenID conformance test
// rp-response_type-code: token responses without expires_in (RFC 6749
// section 5.1: RECOMMENDED) are accepted, at sign-in and on refresh. The
// expiry is the exp of a JWT access token; otherwise it is unknown
// (AccessTokenExpiration 0): never IsExpired, not refreshed by GetTokens
// on its own, refreshed with ForceRefresh.
func TestGetTokensWithoutExpiresIn(t *testing.T) {
	t.Run("JWT access token: its exp", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{OmitExpiresIn: true}, Options{})
		app.signIn("")
		tok := app.mustTokens(nil)
		if want := app.clock.Unix() + 3600; tok.AccessTokenExpiration != want || tok.IsExpired {
			t.Fatalf("AccessTokenExpiration %d, IsExpired %v; want %d (the JWT's exp), false", tok.AccessTokenExpiration, tok.IsExpired, want)
		}
		app.clock.Advance(time.Hour)
		grants := app.op.RefreshGrants()
		if tok := app.mustTokens(nil); tok.AccessTokenExpiration != app.clock.Unix()+3600 || app.op.RefreshGrants() != grants+1 {
			t.Errorf("after the exp: AccessTokenExpiration %d, %d refresh grants; want a refresh to %d", tok.AccessTokenExpiration, app.op.RefreshGrants()-grants, app.clock.Unix()+3600)
		}
	})
	t.Run("opaque access token: unknown", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{OmitExpiresIn: true, OpaqueAccessTokens: true}, Options{})
		app.signIn("")
		first := app.mustTokens(nil)
		if first.AccessTokenExpiration != 0 || first.IsExpired || !first.Token().Expiry.IsZero() {
			t.Fatalf("AccessTokenExpiration %d, IsExpired %v, Token().Expiry %v; want 0, false, zero", first.AccessTokenExpiration, first.IsExpired, first.Token().Expiry)
		}
		app.clock.Advance(2 * time.Hour)
		grants := app.op.RefreshGrants()
		if tok := app.mustTokens(nil); tok.AccessToken != first.AccessToken || tok.IsExpired || app.op.RefreshGrants() != grants {
			t.Errorf("2 h later: token changed %v, IsExpired %v, %d refresh grants; want the same token, not expired, no grant", tok.AccessToken != first.AccessToken, tok.IsExpired, app.op.RefreshGrants()-grants)
		}
		tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		if tok.AccessToken == first.AccessToken || tok.AccessTokenExpiration != 0 || app.op.RefreshGrants() != grants+1 {
			t.Errorf("ForceRefresh: new token %v, AccessTokenExpiration %d, %d refresh grants; want a new token, 0, 1 grant", tok.AccessToken != first.AccessToken, tok.AccessTokenExpiration, app.op.RefreshGrants()-grants)
		}
	})
}
