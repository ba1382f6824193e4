package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFlowRevokeTokensOnSignOut signs in and out against the real provider
// and presents the session's refresh token at the token endpoint with the
// client's credentials: with RevokeTokensOnSignOut the provider refuses it
// (invalid_grant); without, it still accepts it.
func TestFlowRevokeTokensOnSignOut(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{true, false} {
		app := flowStart(t, flowConfig{RevokeTokensOnSignOut: revoke})
		browser := flowBrowser(t)
		app.signIn(t, browser, "alice", "/protected")
		rt := app.session(t, browser).RefreshToken
		if rt == "" {
			t.Fatal("no refresh token in the session")
		}
		// Only the app's sign-out: the provider's end_session would end the
		// grant itself, revoked or not.
		if s := app.get(t, browser, "/api/auth/signout"); s.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("revoke %v: sign-out: %s, want 307", revoke, s.Status)
		}
		if s := app.get(t, browser, "/api/session"); s.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoke %v: GET /api/session after sign-out: %s, want 401", revoke, s.Status)
		}

		req, err := http.NewRequest(http.MethodPost, app.op.TokenEndpoint(), strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {rt},
		}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(flowClientID), url.QueryEscape(flowClientSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answer struct{ Error string }
		_ = json.Unmarshal(body, &answer)
		switch {
		case revoke && (resp.StatusCode != http.StatusBadRequest || answer.Error != "invalid_grant"):
			t.Errorf("refresh after sign-out with revocation: %d %q, want 400 invalid_grant", resp.StatusCode, answer.Error)
		case !revoke && resp.StatusCode != http.StatusOK:
			t.Errorf("refresh after sign-out without revocation: %d %s, want 200", resp.StatusCode, body)
		}
	}
}
