package monocloudtest

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// chooseUser shows the sign-in page for the authorization request
// authorizeURL, posts its form back with the given user, as a person
// clicking a user would, and returns the authorization code.
func chooseUser(t *testing.T, op *Provider, authorizeURL, user string) string {
	t.Helper()
	page := get(t, op, authorizeURL, nil)
	body, err := io.ReadAll(page.Body)
	if err != nil {
		t.Fatal(err)
	}
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorization request with Users got %s, want the sign-in page", page.Status)
	}
	action, form, err := parseFormPost(string(body))
	if err != nil {
		t.Fatalf("sign-in page: %v:\n%s", err, body)
	}
	if action != op.Issuer()+authorizePath {
		t.Fatalf("sign-in page posts to %q, want the authorization endpoint", action)
	}
	form.Set(userField, user)
	resp, err := (&http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}).PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("choosing a user got %s, want a redirect to the client", resp.Status)
	}
	return codeFrom(t, op, loc.Query())
}

func TestSignInPage(t *testing.T) {
	op := NewProvider(t, Config{Users: []User{
		{Subject: "alice", Claims: map[string]any{"name": "Alice"}},
		{Subject: "admin", Claims: map[string]any{"name": "Admin", "groups": []any{"admin", "editors"}}},
	}})
	rp := newRelyingParty(t, op)

	for _, tc := range []struct {
		user       string
		wantName   string
		wantGroups []string
	}{
		{"admin", "Admin", []string{"admin", "editors"}},
		{"alice", "Alice", nil},
		{"typed-in", "typed-in", nil},
	} {
		verifier := oauth2.GenerateVerifier()
		code := chooseUser(t, op, rp.authCodeURL(verifier), tc.user)
		tok, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("%s: code exchange: %v", tc.user, err)
		}
		idToken := rp.verifyIDToken(t, tok.Extra("id_token"))
		var claims struct {
			Name   string   `json:"name"`
			Groups []string `json:"groups"`
		}
		if err := idToken.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idToken.Subject != tc.user || claims.Name != tc.wantName || !slices.Equal(claims.Groups, tc.wantGroups) {
			t.Errorf("%s: ID token sub %q name %q groups %v, want %q %q %v",
				tc.user, idToken.Subject, claims.Name, claims.Groups, tc.user, tc.wantName, tc.wantGroups)
		}
		if at := rp.verifyAccessToken(t, tok.AccessToken); at.Subject != tc.user {
			t.Errorf("%s: access token sub %q", tc.user, at.Subject)
		}
		info, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("%s: userinfo: %v", tc.user, err)
		}
		if info.Subject != tc.user {
			t.Errorf("%s: userinfo sub %q", tc.user, info.Subject)
		}
	}
}

// TestSignInPageKeepsPushedRequest: the page of a pushed authorization
// request posts the pushed parameters, as the request_uri is used once.
func TestSignInPageKeepsPushedRequest(t *testing.T) {
	op := NewProvider(t, Config{Users: []User{{Subject: "alice"}}})
	verifier := oauth2.GenerateVerifier()
	params := url.Values{
		"response_type":         {"code"},
		"redirect_uri":          {testRedirectURI},
		"scope":                 {"openid"},
		"state":                 {testState},
		"nonce":                 {testNonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	status, body := postForm(t, op, parPath, params, basicAuth)
	if status != http.StatusCreated {
		t.Fatalf("PAR: %d %v", status, body)
	}
	authorizeURL := op.Issuer() + authorizePath + "?" + url.Values{
		"client_id":   {testClientID},
		"request_uri": {body["request_uri"].(string)},
	}.Encode()
	if code := chooseUser(t, op, authorizeURL, "alice"); code == "" {
		t.Fatal("no code")
	}
}

func TestProviderListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	op := NewProvider(t, Config{Listener: l})
	if want := "http://" + l.Addr().String(); op.Issuer() != want {
		t.Errorf("Issuer() = %q, want %q", op.Issuer(), want)
	}
	resp := get(t, op, op.Issuer()+discoveryPath, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery on the listener: %s", resp.Status)
	}
}
