package provider

import (
	"context"
	"encoding/json"
	"slices"
)

// VerifySignedUserInfo verifies a signed userinfo answer (OpenID Connect
// Core section 5.3.2) and returns its claims. The signature must be by a
// key of the provider's key set with v.Algorithm (a Trusted token); iss
// and aud, which such an answer SHOULD carry, must be the issuer and
// include the client ID when present. exp and iat are not checked: the
// answer is used at once. Encrypted answers are not supported. An invalid
// answer is an Invalid *Error; keys that cannot be fetched give the key
// set's error.
func (v *Verifier) VerifySignedUserInfo(ctx context.Context, raw string) (map[string]any, error) {
	if err := checkUTF8(raw); err != nil {
		return nil, invalid("Signed userinfo verification failed", err)
	}
	payload, err := v.verifyJWT(ctx, raw, Trusted)
	if k := KindOf(err); k != 0 && k != Invalid {
		return nil, err
	}
	if err != nil {
		return nil, invalid("Signed userinfo verification failed", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, invalid("Failed to parse JWT Payload", err)
	}
	if iss, ok := claims["iss"]; ok && iss != v.Issuer {
		return nil, invalid("Signed userinfo was issued by another issuer", nil)
	}
	if aud, ok := claims["aud"]; ok && !audienceContains(aud, v.ClientID) {
		return nil, invalid("Signed userinfo is meant for another audience", nil)
	}
	return claims, nil
}

// audienceContains reports whether aud, a JWT aud claim as decoded by
// encoding/json (a string or an array), names clientID.
func audienceContains(aud any, clientID string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == clientID
	case []any:
		return slices.Contains(aud, any(clientID))
	}
	return false
}
