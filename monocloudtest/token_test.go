package monocloudtest

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestCodeExchangeRequiresMatchingPKCEVerifier(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	code := rp.authorize(t, oauth2.GenerateVerifier())

	_, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))

	wantRetrieveError(t, err, "invalid_grant")
}

func TestCodeExchangeRequiresMatchingRedirectURI(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	verifier := oauth2.GenerateVerifier()
	code := rp.authorize(t, verifier)
	rp.oauth2.RedirectURL = "https://rp.example/other"

	_, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))

	wantRetrieveError(t, err, "invalid_grant")
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	verifier := oauth2.GenerateVerifier()
	code := rp.authorize(t, verifier)
	tok, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("first exchange: %v", err)
	}

	_, err = rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))

	wantRetrieveError(t, err, "invalid_grant")
	status, body := refresh(t, op, tok.RefreshToken, nil)
	wantError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo accepted an access token of a replayed code")
	}
	if got := op.CodeGrants(); got != 2 {
		t.Errorf("CodeGrants() = %d, want 2", got)
	}
}

func TestRefreshRotation(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	tok, first := rp.signIn(t)

	status, body := refresh(t, op, tok.RefreshToken, nil)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, body)
	}
	rotated, _ := body["refresh_token"].(string)
	if rotated == "" || rotated == tok.RefreshToken {
		t.Fatalf("refresh returned refresh token %q, want a new one", rotated)
	}
	refreshed := rp.verifyIDToken(t, body["id_token"])
	if refreshed.Subject != first.Subject || refreshed.Nonce != "" || refreshed.IssuedAt.Before(first.IssuedAt) {
		t.Errorf("refreshed ID token sub %q nonce %q iat %v; want sub %q, no nonce, iat not before %v",
			refreshed.Subject, refreshed.Nonce, refreshed.IssuedAt, first.Subject, first.IssuedAt)
	}
	if body["scope"] != "openid profile offline_access" || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 {
		t.Errorf("refresh response %v, want the grant's scope, Bearer and expires_in 3600", body)
	}

	status, body = refresh(t, op, tok.RefreshToken, nil)
	wantError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if got := op.ReuseDetected(); got != 1 {
		t.Errorf("ReuseDetected() = %d, want 1", got)
	}
	status, body = refresh(t, op, rotated, nil)
	wantError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if got := op.RefreshGrants(); got != 3 {
		t.Errorf("RefreshGrants() = %d, want 3", got)
	}
}

func TestRefreshWithoutRotation(t *testing.T) {
	op := NewProvider(t, Config{DisableRotation: true})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)

	for range 2 {
		status, body := refresh(t, op, tok.RefreshToken, nil)
		if status != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("refresh: %d %v", status, body)
		}
		if rt, ok := body["refresh_token"]; ok {
			t.Errorf("refresh returned refresh_token %v, want none", rt)
		}
	}
	if got := op.ReuseDetected(); got != 0 {
		t.Errorf("ReuseDetected() = %d, want 0", got)
	}
}

func TestConcurrentRefreshOfOneToken(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)
	const n = 100

	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			var err error
			statuses[i], _, err = doPostForm(t.Context(), op, tokenPath, form, basicAuth)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	if ok := slices.Index(statuses, http.StatusOK); ok < 0 || slices.Contains(statuses[ok+1:], http.StatusOK) {
		t.Errorf("statuses %v, want exactly one 200", statuses)
	}
	if got := op.RefreshGrants(); got != n {
		t.Errorf("RefreshGrants() = %d, want %d", got, n)
	}
	if got := op.ReuseDetected(); got != n-1 {
		t.Errorf("ReuseDetected() = %d, want %d", got, n-1)
	}
}

func TestRefreshScope(t *testing.T) {
	op := NewProvider(t, Config{DisableRotation: true})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)

	status, body := refresh(t, op, tok.RefreshToken, url.Values{"scope": {"openid profile"}})
	if status != http.StatusOK || body["scope"] != "openid profile" {
		t.Fatalf("narrowing the scope: %d %v, want scope \"openid profile\"", status, body)
	}
	if at := rp.verifyAccessToken(t, body["access_token"].(string)); at.Scope != "openid profile" {
		t.Errorf("access token scope %q, want \"openid profile\"", at.Scope)
	}

	status, body = refresh(t, op, tok.RefreshToken, url.Values{"scope": {"openid email"}})
	wantError(t, status, body, http.StatusBadRequest, "invalid_scope")
}

func TestResourceIndicators(t *testing.T) {
	const api, files, other = "https://api.example", "https://files.example", "https://other.example"
	op := NewProvider(t, Config{DisableRotation: true})
	rp := newRelyingParty(t, op)
	authorize := func(t *testing.T) (code, verifier string) {
		t.Helper()
		verifier = oauth2.GenerateVerifier()
		u, err := url.Parse(rp.authCodeURL(verifier))
		if err != nil {
			t.Fatal(err)
		}
		query := u.Query()
		query["resource"] = []string{api, files}
		u.RawQuery = query.Encode()
		return codeFrom(t, op, op.Authorize(t, u.String()).Query()), verifier
	}
	exchange := func(t *testing.T, resource ...string) (int, map[string]any) {
		t.Helper()
		code, verifier := authorize(t)
		return tokenRequest(t, op, url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {code},
			"redirect_uri":  {testRedirectURI},
			"code_verifier": {verifier},
			"resource":      resource,
		})
	}
	audience := func(t *testing.T, body map[string]any) []string {
		t.Helper()
		return rp.verifyAccessToken(t, body["access_token"].(string)).Audience
	}

	t.Run("code exchange for one resource", func(t *testing.T) {
		status, body := exchange(t, api)
		if status != http.StatusOK || !slices.Equal(audience(t, body), []string{api}) {
			t.Errorf("got %d %v, want an access token for %s", status, body, api)
		}
	})
	t.Run("code exchange for all resources", func(t *testing.T) {
		status, body := exchange(t)
		if status != http.StatusOK || !slices.Equal(audience(t, body), []string{api, files}) {
			t.Errorf("got %d %v, want an access token for %s and %s", status, body, api, files)
		}
	})
	t.Run("code exchange for an unauthorized resource", func(t *testing.T) {
		status, body := exchange(t, api, other)
		wantError(t, status, body, http.StatusBadRequest, "invalid_target")
		if got := op.LastTokenRequest()["resource"]; !slices.Equal(got, []string{api, other}) {
			t.Errorf("LastTokenRequest() resources %q, want both", got)
		}
	})
	t.Run("refresh", func(t *testing.T) {
		_, body := exchange(t, api)
		rt := body["refresh_token"].(string)

		status, body := refresh(t, op, rt, url.Values{"resource": {files}})
		if status != http.StatusOK || !slices.Equal(audience(t, body), []string{files}) {
			t.Errorf("refresh for %s: got %d %v", files, status, body)
		}
		status, body = refresh(t, op, rt, url.Values{"resource": {other}})
		wantError(t, status, body, http.StatusBadRequest, "invalid_target")
	})
}

func TestAccessTokenForClientWithoutResources(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)

	if at := rp.verifyAccessToken(t, tok.AccessToken); !slices.Equal(at.Audience, []string{testClientID}) || at.ClientID != testClientID {
		t.Errorf("access token claims %+v, want the client as audience", at)
	}
}

func TestClientAuthentication(t *testing.T) {
	// Characters that form-urlencoding changes; Basic credentials without it
	// cannot have a colon in the client ID.
	const id, secret = "client 1", "s&cr+t/=:"
	op := NewProvider(t, Config{ClientID: id, ClientSecret: secret})
	rp := newRelyingParty(t, op)
	rp.oauth2.ClientID, rp.oauth2.ClientSecret = id, secret
	rp.verifier = rp.oidc.Verifier(&oidc.Config{ClientID: id})

	for _, tt := range []struct {
		name  string
		style oauth2.AuthStyle
		want  string
	}{
		{"basic", oauth2.AuthStyleInHeader, "client_secret_basic"},
		{"post", oauth2.AuthStyleInParams, "client_secret_post"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rp.oauth2.Endpoint.AuthStyle = tt.style
			rp.signIn(t)
			if got := op.AuthMethod(); got != tt.want {
				t.Errorf("AuthMethod() = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("basic without form-urlencoding", func(t *testing.T) {
		status, body := postForm(t, op, tokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}},
			func(r *http.Request) { r.SetBasicAuth(id, secret) })
		wantError(t, status, body, http.StatusBadRequest, "invalid_grant") // authenticated
	})
	t.Run("wrong secret", func(t *testing.T) {
		rp.oauth2.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		rp.oauth2.ClientSecret = "wrong"
		_, err := rp.oauth2.Exchange(rp.ctx, "code")
		wantRetrieveError(t, err, "invalid_client")
		var re *oauth2.RetrieveError
		errors.As(err, &re)
		if re.Response.StatusCode != http.StatusUnauthorized || re.Response.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("got %s with WWW-Authenticate %q, want 401 with a challenge",
				re.Response.Status, re.Response.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		status, body := postForm(t, op, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}}, func(*http.Request) {})
		wantError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("two methods", func(t *testing.T) {
		status, body := postForm(t, op, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}},
			func(r *http.Request) { r.SetBasicAuth(id, secret) })
		wantError(t, status, body, http.StatusBadRequest, "invalid_request")
	})
}

func TestUnsupportedGrantType(t *testing.T) {
	op := NewProvider(t, Config{})

	status, body := tokenRequest(t, op, url.Values{"grant_type": {"password"}})

	wantError(t, status, body, http.StatusBadRequest, "unsupported_grant_type")
}
