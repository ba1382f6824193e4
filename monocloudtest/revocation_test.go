package monocloudtest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestRevocation(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	revoke := func(t *testing.T, token string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, op.Issuer()+revocationPath,
			strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		basicAuth(req)
		resp, err := op.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revocation: got %s, want 200", resp.Status)
		}
	}

	t.Run("access token", func(t *testing.T) {
		tok, _ := rp.signIn(t)
		revoke(t, tok.AccessToken)
		if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo accepted a revoked access token")
		}
		if status, body := refresh(t, op, tok.RefreshToken, nil); status != http.StatusOK {
			t.Errorf("refresh after revoking the access token: %d %v", status, body)
		}
	})
	t.Run("refresh token", func(t *testing.T) {
		tok, _ := rp.signIn(t)
		revoke(t, tok.RefreshToken)
		status, body := refresh(t, op, tok.RefreshToken, nil)
		wantError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if _, err := rp.oidc.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo accepted an access token of a revoked grant")
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		revoke(t, "unknown")
	})
}
