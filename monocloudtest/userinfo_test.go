package monocloudtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestUserinfo(t *testing.T) {
	op := NewProvider(t, Config{Subject: "ada", Claims: map[string]any{"email": "ada@example.com", "groups": []string{"admins"}}})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)

	info, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims struct {
		Groups []string `json:"groups"`
	}
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if info.Subject != "ada" || info.Email != "ada@example.com" || len(claims.Groups) != 1 || claims.Groups[0] != "admins" {
		t.Errorf("userinfo sub %q email %q groups %q, want the configured user", info.Subject, info.Email, claims.Groups)
	}
}

func TestUserinfoRejectsBadTokens(t *testing.T) {
	clock := newClock()
	op := NewProvider(t, Config{Now: clock.Now})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)
	if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo before expiry: %v", err)
	}
	clock.Advance(time.Hour + time.Second)

	for _, tt := range []struct {
		name      string
		header    http.Header
		wantError string
	}{
		{"unknown token", http.Header{"Authorization": {"Bearer nope"}}, `error="invalid_token"`},
		{"expired token", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, `error="invalid_token"`},
		{"no token", nil, `Bearer realm="monocloudtest"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, op, rp.oidc.UserInfoEndpoint(), tt.header)
			if challenge := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized ||
				!strings.HasPrefix(challenge, "Bearer") || !strings.Contains(challenge, tt.wantError) {
				t.Errorf("got %s with WWW-Authenticate %q, want 401 with %s", resp.Status, challenge, tt.wantError)
			}
		})
	}
}

func TestUserinfoFault(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)
	op.SetUserinfoFault(Fault{Status: http.StatusBadGateway, Body: "upstream down", ContentType: "text/plain"})

	if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "upstream down") {
		t.Errorf("userinfo error %v, want the fault", err)
	}
	op.SetUserinfoFault(Fault{})
	if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("userinfo after clearing the fault: %v", err)
	}
}
