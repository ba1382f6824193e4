package monocloudtest

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestDiscovery(t *testing.T) {
	op := NewProvider(t, Config{})

	resp := get(t, op, op.Issuer()+"/.well-known/openid-configuration", nil)
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}

	iss := op.Issuer()
	for name, want := range map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"end_session_endpoint":                  iss + "/end_session",
		"pushed_authorization_request_endpoint": iss + "/par",
		"revocation_endpoint":                   iss + "/revoke",
		"response_types_supported":              []any{"code"},
		"response_modes_supported":              []any{"query", "form_post"},
		"grant_types_supported":                 []any{"authorization_code", "refresh_token"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"},
		"code_challenge_methods_supported":      []any{"S256"},
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
	} {
		if got := md[name]; !equalJSON(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if scopes, _ := md["scopes_supported"].([]any); !slices.Contains(scopes, any("openid")) {
		t.Errorf("scopes_supported = %v, want openid among them", scopes)
	}
	if len(op.Issuer()) == 0 || op.Issuer()[len(op.Issuer())-1] == '/' {
		t.Errorf("Issuer() = %q, want a URL without a trailing slash", op.Issuer())
	}
}

// equalJSON reports whether two decoded JSON values are equal.
func equalJSON(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}
