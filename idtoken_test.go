package monocloud

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/provider"
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
		{90 * time.Second, http.StatusTemporaryRedirect},
		{130 * time.Second, http.StatusBadGateway},
	} {
		t.Run(fmt.Sprintf("auth_time+%v", tc.late), func(t *testing.T) {
			app := newTestApp(t, appConfig{})
			clock := app.useClock() // the provider keeps the real clock
			_, loc := app.startSignIn("/api/auth/signin?max_age=60")
			cb := app.op.Authorize(t, loc)
			clock.Advance(tc.late)
			resp, body := app.get(cb.String())
			if resp.StatusCode != tc.want {
				t.Fatalf("callback %v after auth_time: status %d, want %d: %s", tc.late, resp.StatusCode, tc.want, body)
			}
			if got := writesSession(resp); got != (tc.want == http.StatusTemporaryRedirect) {
				t.Errorf("session written: %t", got)
			}
		})
	}
}

// TestClockSkewAndTolerance: ClockSkew moves the clock tokens are checked
// against (the provider's is ahead), ClockTolerance is the leeway, as the
// SDK splits them. Our clock is 90 s behind the provider's, so the ID
// token's iat is 90 s in the future.
func TestClockSkewAndTolerance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want int
	}{
		{"defaults: 60 s of tolerance", Options{}, http.StatusBadGateway},
		{"ClockSkew 60 s", Options{ClockSkew: new(60 * time.Second)}, http.StatusTemporaryRedirect},
		{"ClockTolerance 120 s", Options{ClockTolerance: new(120 * time.Second)}, http.StatusTemporaryRedirect},
		{"ClockSkew 60 s, no tolerance", Options{ClockSkew: new(60 * time.Second), ClockTolerance: new(time.Duration(0))}, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTestApp(t, appConfig{opts: tc.opts})
			app.useClock().Advance(-90 * time.Second) // the provider keeps the real clock
			if resp, body := app.signInVia("/api/auth/signin"); resp.StatusCode != tc.want {
				t.Errorf("callback: %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
		})
	}
}

// TestIDTokenRequiredClaimsAtSignIn is the OpenID conformance tests
// rp-id_token-iat and rp-id_token-sub: an ID token without iat, or without
// sub, both REQUIRED (OpenID Connect Core section 2), is refused at the
// callback: no session, and no userinfo call.
func TestIDTokenRequiredClaimsAtSignIn(t *testing.T) {
	for _, claim := range []string{"", "iat", "sub"} {
		t.Run("without "+claim, func(t *testing.T) {
			app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{UserInfo: new(true)}})
			if claim != "" {
				app.op.SetIDTokenEdit(func(claims map[string]any) { delete(claims, claim) })
			}
			resp, body := app.signInVia("/api/auth/signin")
			if claim == "" { // the control: the same flow with the claim
				if resp.StatusCode != http.StatusTemporaryRedirect || app.op.UserinfoRequests() != 1 {
					t.Fatalf("control: status %d, %d userinfo calls; want 307 and 1", resp.StatusCode, app.op.UserinfoRequests())
				}
				return
			}
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("callback: status %d, want 502: %s", resp.StatusCode, body)
			}
			if c := app.sessionCookies(); len(c) != 0 {
				t.Errorf("session cookies %v set for an ID token without %s", cookieNames(c), claim)
			}
			if n := app.op.UserinfoRequests(); n != 0 {
				t.Errorf("userinfo called %d times for an ID token without %s", n, claim)
			}
		})
	}
}

// TestIDTokenAlgorithm: an ID token signed with another algorithm than
// IDTokenSigningAlg (the provider signs RS256) is refused.
func TestIDTokenAlgorithm(t *testing.T) {
	for alg, want := range map[string]int{"RS256": http.StatusTemporaryRedirect, "PS256": http.StatusBadGateway} {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{IDTokenSigningAlg: alg}})
		if resp, body := app.signInVia("/api/auth/signin"); resp.StatusCode != want {
			t.Errorf("IDTokenSigningAlg %s: callback status %d, want %d: %s", alg, resp.StatusCode, want, body)
		}
	}
}

// TestIDTokenRules checks each rule of OpenID Connect Core section 3.1.3.7
// that verifyIDToken enforces, on a refreshed ID token signed by the
// provider (or by a generated key) with one claim or header changed.
func TestIDTokenRules(t *testing.T) {
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		claims  map[string]any // overrides; nil deletes
		typ     string         // typ header; empty signs with SignIDToken
		foreign bool           // signed with a generated key under the provider's kid
		wantErr bool
	}{
		{name: "valid", wantErr: false},
		{name: "iss of another issuer", claims: map[string]any{"iss": "https://op.example"}, wantErr: true},
		{name: "aud without the client", claims: map[string]any{"aud": "other"}, wantErr: true},
		{name: "aud with the client among others, azp the client", claims: map[string]any{"aud": []any{"other", "test-client"}, "azp": "test-client"}, wantErr: false},
		{name: "no exp", claims: map[string]any{"exp": nil}, wantErr: true},
		{name: "exp past beyond the skew", claims: map[string]any{"exp": -90}, wantErr: true},
		{name: "exp past within the skew", claims: map[string]any{"exp": -30}, wantErr: false},
		{name: "no iat", claims: map[string]any{"iat": nil}, wantErr: true},
		{name: "iat a string", claims: map[string]any{"iat": "yesterday"}, wantErr: true},
		{name: "no sub", claims: map[string]any{"sub": nil}, wantErr: true},
		{name: "empty sub", claims: map[string]any{"sub": ""}, wantErr: true},
		{name: "nonce of another sign-in", claims: map[string]any{"nonce": "other"}, wantErr: true},
		{name: "typ JWT", typ: "JWT", wantErr: false},
		{name: "typ application/jwt", typ: "application/jwt", wantErr: false},
		{name: "typ of an access token", typ: "at+jwt", wantErr: true},
		{name: "typ of a logout token", typ: "logout+jwt", wantErr: true},
		{name: "signed by another key", foreign: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTokensApp(t, monocloudtest.Config{}, Options{})
			app.signIn("")
			now := app.clock.Unix()
			claims := map[string]any{"iss": app.op.Issuer(), "sub": "user-1", "aud": "test-client", "iat": now, "exp": now + 3600}
			for k, v := range tc.claims {
				switch {
				case v == nil:
					delete(claims, k)
				case k == "exp":
					claims[k] = now + int64(v.(int))
				default:
					claims[k] = v
				}
			}
			var idt string
			switch {
			case tc.foreign:
				_, kid := providerKey(t, app.op)
				idt = signWith(t, foreign, kid, claims)
			case tc.typ != "":
				idt = app.op.SignJWT(t, tc.typ, claims)
			default:
				idt = app.op.SignIDToken(t, claims)
			}
			app.op.SetTokenFault(tokenFault("at-rule", idt, ""))
			tok, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
			if !tc.wantErr {
				if err != nil || tok.AccessToken != "at-rule" {
					t.Fatalf("GetTokens = %+v, %v; want the refreshed tokens", tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("GetTokens = %+v; want the ID token refused", tok)
			}
			asError[*TokenError](t, err)
		})
	}
}

// signWith returns claims as an RS256 JWS signed by key under kid.
func signWith(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestJWTNotUTF8: ID tokens, logout tokens and signed userinfo whose header
// or payload is not valid UTF-8 are refused before their signature is
// checked (the SDK since 0.2.8); valid non-ASCII passes.
func TestJWTNotUTF8(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	badPayload := enc(`{"alg":"RS256"}`) + "." + enc("{\"sub\":\"\xff\"}") + ".c2ln"
	badHeader := enc("{\"alg\":\"RS256\",\"kid\":\"\xc3\x28\"}") + "." + enc(`{"sub":"x"}`) + ".c2ln"
	app := newTestApp(t, appConfig{})
	p, err := app.client.provider(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{badPayload, badHeader} {
		var te *TokenError
		if _, err := p.verifyIDToken(t.Context(), raw, provider.IDTokenCheck{}); !errors.As(err, &te) || !errors.Is(err, provider.ErrNotUTF8) {
			t.Errorf("ID token: %v, want a *TokenError for invalid UTF-8", err)
		}
		if _, err := p.verifier.VerifyLogoutToken(t.Context(), raw); !errors.As(opError(err), &te) || !errors.Is(err, provider.ErrNotUTF8) {
			t.Errorf("logout token: %v, want a *TokenError for invalid UTF-8", err)
		}
		if _, err := p.verifier.VerifySignedUserInfo(t.Context(), raw); !errors.As(opError(err), &te) || !errors.Is(err, provider.ErrNotUTF8) {
			t.Errorf("signed userinfo: %v, want a *TokenError for invalid UTF-8", err)
		}
	}
}
