package monocloudtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestCodeFlow(t *testing.T) {
	op := NewProvider(t, Config{Claims: map[string]any{"name": "Ada", "email": "ada@example.com", "sub": "ignored"}})
	rp := newRelyingParty(t, op)

	tok, idToken := rp.signIn(t, oauth2.SetAuthURLParam("max_age", "300"))

	if idToken.Subject != "user-1" || idToken.Nonce != testNonce {
		t.Errorf("ID token sub %q nonce %q, want user-1 and %q", idToken.Subject, idToken.Nonce, testNonce)
	}
	var claims struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		SID      string `json:"sid"`
		AuthTime int64  `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Name != "Ada" || claims.Email != "ada@example.com" || claims.SID == "" || claims.AuthTime == 0 {
		t.Errorf("ID token claims %+v, want name, email, sid and auth_time", claims)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.ExpiresIn != 3600 {
		t.Errorf("token type %q, refresh token %q, expires_in %d; want Bearer, a refresh token and 3600",
			tok.TokenType, tok.RefreshToken, tok.ExpiresIn)
	}
	if scope := tok.Extra("scope"); scope != "openid profile offline_access" {
		t.Errorf("scope = %q, want the requested scope", scope)
	}
	at := rp.verifyAccessToken(t, tok.AccessToken)
	if at.Subject != "user-1" || !slices.Equal(at.Audience, []string{testClientID}) || at.Scope != "openid profile offline_access" {
		t.Errorf("access token claims %+v, want the user, the client as audience and the granted scope", at)
	}

	authz := op.LastAuthorizeRequest()
	if authz.Get("code_challenge_method") != "S256" || authz.Get("max_age") != "300" {
		t.Errorf("LastAuthorizeRequest() = %v, want the PKCE challenge and max_age", authz)
	}
	if form := op.LastTokenRequest(); form.Get("code_verifier") == "" || form.Get("redirect_uri") != testRedirectURI {
		t.Errorf("LastTokenRequest() = %v, want code_verifier and redirect_uri", form)
	}
	if got := op.AuthMethod(); got != "client_secret_basic" {
		t.Errorf("AuthMethod() = %q, want client_secret_basic", got)
	}
	if got := op.CodeGrants(); got != 1 {
		t.Errorf("CodeGrants() = %d, want 1", got)
	}
}

func TestAuthorizeKeepsRedirectURIQuery(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	rp.oauth2.RedirectURL = testRedirectURI + "?tenant=acme"

	callback := op.Authorize(t, rp.authCodeURL(oauth2.GenerateVerifier()))

	if callback.Query().Get("tenant") != "acme" || callback.Query().Get("code") == "" {
		t.Errorf("callback %s, want the redirect_uri's query and a code", callback)
	}
}

func TestAuthorizeErrorPage(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	for _, tt := range []struct {
		name   string
		params url.Values
	}{
		{"unknown client", url.Values{"client_id": {"other"}}},
		{"relative redirect_uri", url.Values{"redirect_uri": {"/callback"}}},
		{"redirect_uri with fragment", url.Values{"redirect_uri": {testRedirectURI + "#x"}}},
		{"no code_challenge", url.Values{"code_challenge": {""}}},
		{"plain code_challenge_method", url.Values{"code_challenge_method": {"plain"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(rp.oauth2.AuthCodeURL(testState, challenge))
			if err != nil {
				t.Fatal(err)
			}
			query := u.Query()
			for name, values := range tt.params {
				query[name] = values
			}
			u.RawQuery = query.Encode()

			if resp := get(t, op, u.String(), nil); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("got %s, want 400", resp.Status)
			}
		})
	}
}

func TestAuthorizeErrorRedirect(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	verifier := oauth2.GenerateVerifier()
	for _, tt := range []struct {
		name string
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"response_type token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "token")}, "unsupported_response_type"},
		{"no nonce", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", "")}, "invalid_request"},
		{"no openid scope", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", "profile")}, "invalid_scope"},
		{"bad max_age", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "-1")}, "invalid_request"},
		{"relative resource", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", "api")}, "invalid_target"},
		{"unknown response_mode", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "fragment")}, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			callback := op.Authorize(t, rp.authCodeURL(verifier, tt.opts...))

			q := callback.Query()
			if !strings.HasPrefix(callback.String(), testRedirectURI+"?") || q.Get("error") != tt.want ||
				q.Get("error_description") == "" || q.Get("state") != testState || q.Get("iss") != op.Issuer() || q.Has("code") {
				t.Errorf("callback %s, want error %q with a description, state and iss", callback, tt.want)
			}
		})
	}
}

func TestSetAuthorizeError(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	op.SetAuthorizeError("access_denied", "the user said no")

	callback := op.Authorize(t, rp.authCodeURL(oauth2.GenerateVerifier()))
	if q := callback.Query(); q.Get("error") != "access_denied" || q.Get("error_description") != "the user said no" ||
		q.Get("state") != testState || q.Get("iss") != op.Issuer() {
		t.Errorf("callback %s, want the set error with state and iss", callback)
	}
	rp.signIn(t) // The error applies only once.
}

func TestAuthorizeFormPost(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	rp.oauth2.RedirectURL = testRedirectURI + "?a=1&b=2"
	verifier := oauth2.GenerateVerifier()

	action, form := op.AuthorizeFormPost(t, rp.authCodeURL(verifier, oauth2.SetAuthURLParam("response_mode", "form_post")))

	if action != rp.oauth2.RedirectURL {
		t.Errorf("action = %q, want %q", action, rp.oauth2.RedirectURL)
	}
	if _, err := rp.oauth2.Exchange(rp.ctx, codeFrom(t, op, form), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchanging the posted code: %v", err)
	}
}

func TestPushedAuthorizationRequest(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	verifier := oauth2.GenerateVerifier()
	pushed, err := url.Parse(rp.authCodeURL(verifier, oauth2.SetAuthURLParam("resource", "https://api.example")))
	if err != nil {
		t.Fatal(err)
	}
	form := pushed.Query()
	form.Del("client_id")

	status, body := postForm(t, op, parPath, form, basicAuth)
	requestURI, _ := body["request_uri"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(requestURI, "urn:ietf:params:oauth:request_uri:") || body["expires_in"] != 60.0 {
		t.Fatalf("PAR response %d %v, want 201 with a request_uri expiring in 60s", status, body)
	}

	authorizeURL := op.Issuer() + authorizePath + "?" + url.Values{"client_id": {testClientID}, "request_uri": {requestURI}}.Encode()
	code := codeFrom(t, op, op.Authorize(t, authorizeURL).Query())
	if got := op.LastAuthorizeRequest(); got.Get("request_uri") != requestURI || got.Get("resource") != "https://api.example" || got.Get("nonce") != testNonce {
		t.Errorf("LastAuthorizeRequest() = %v, want the pushed parameters and request_uri", got)
	}
	tok, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	if at := rp.verifyAccessToken(t, tok.AccessToken); !slices.Equal(at.Audience, []string{"https://api.example"}) {
		t.Errorf("access token audience %q, want the pushed resource", at.Audience)
	}

	if resp := get(t, op, authorizeURL, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("reusing the request_uri: got %s, want 400", resp.Status)
	}
}

func TestPushedAuthorizationRequestErrors(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	pushed, err := url.Parse(rp.authCodeURL(oauth2.GenerateVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	form := pushed.Query()

	status, body := postForm(t, op, parPath, form, func(*http.Request) {})
	wantError(t, status, body, http.StatusUnauthorized, "invalid_client")

	form.Set("client_secret", testSecret)
	form.Del("code_challenge")
	status, body = postForm(t, op, parPath, form, func(*http.Request) {})
	wantError(t, status, body, http.StatusBadRequest, "invalid_request")
}
