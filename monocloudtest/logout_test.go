package monocloudtest

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestEndSession(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	var endSession struct {
		URL string `json:"end_session_endpoint"`
	}
	if err := rp.oidc.Claims(&endSession); err != nil {
		t.Fatal(err)
	}
	requests := []url.Values{
		{"client_id": {testClientID}, "post_logout_redirect_uri": {"https://rp.example/bye?x=1"}, "state": {"s1"}},
		{"id_token_hint": {"hint"}},
		{"post_logout_redirect_uri": {"https://rp.example/bye"}},
		{"client_id": {"other"}},
	}

	redirect := get(t, op, endSession.URL+"?"+requests[0].Encode(), nil)
	signedOut := get(t, op, endSession.URL+"?"+requests[1].Encode(), nil)
	anonymous := get(t, op, endSession.URL+"?"+requests[2].Encode(), nil)
	otherClient := get(t, op, endSession.URL+"?"+requests[3].Encode(), nil)

	if loc := redirect.Header.Get("Location"); redirect.StatusCode != http.StatusFound || loc != "https://rp.example/bye?state=s1&x=1" {
		t.Errorf("with post_logout_redirect_uri: got %s to %q, want a redirect there with state", redirect.Status, loc)
	}
	if body, _ := io.ReadAll(signedOut.Body); signedOut.StatusCode != http.StatusOK || string(body) != "signed out\n" {
		t.Errorf("without post_logout_redirect_uri: got %s %q, want 200 \"signed out\"", signedOut.Status, body)
	}
	if anonymous.StatusCode != http.StatusBadRequest {
		t.Errorf("without client_id or id_token_hint: got %s, want 400", anonymous.Status)
	}
	if otherClient.StatusCode != http.StatusBadRequest {
		t.Errorf("with an unknown client_id: got %s, want 400", otherClient.Status)
	}
	got := op.EndSessionRequests()
	if len(got) != len(requests) {
		t.Fatalf("EndSessionRequests() = %v, want %v", got, requests)
	}
	for i := range requests {
		if got[i].Encode() != requests[i].Encode() {
			t.Errorf("EndSessionRequests()[%d] = %v, want %v", i, got[i], requests[i])
		}
	}
}

func TestSignLogoutToken(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)

	token := op.SignLogoutToken(t, map[string]any{
		"iss":    op.Issuer(),
		"aud":    testClientID,
		"iat":    time.Now().Unix(),
		"exp":    time.Now().Add(time.Minute).Unix(),
		"jti":    "jti-1",
		"sid":    "sid-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})

	logout, err := rp.verifier.VerifyLogout(rp.ctx, token)
	if err != nil {
		t.Fatalf("VerifyLogout: %v", err)
	}
	if logout.SessionID != "sid-1" || logout.TokenID != "jti-1" {
		t.Errorf("logout token sid %q jti %q, want sid-1 and jti-1", logout.SessionID, logout.TokenID)
	}
	if typ := jwtHeader(t, token).ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
}
