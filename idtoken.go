package monocloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// idTokenCheck is what an ID token is checked against beyond go-oidc's
// checks (signature with the configured algorithm, iss, aud, exp).
type idTokenCheck struct {
	// nonce must equal the token's nonce on callback. On refresh (refresh
	// true) the token's nonce may be absent or equal to nonce.
	nonce   string
	refresh bool
	// maxAge, when set, requires auth_time within maxAge seconds.
	maxAge *int
	// subject, when set, must equal the token's sub (refresh).
	subject string
}

// verifyIDToken validates raw and returns its claims. On top of go-oidc it
// checks the nonce, iat (not in the future beyond the clock skew), azp
// (required with several audiences, else it must equal the client ID),
// auth_time against max_age, and on refresh that sub did not change. It
// does not check at_hash or c_hash.
func (c *Client) verifyIDToken(ctx context.Context, raw string, chk idTokenCheck) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, &TokenError{Message: "ID Token must be a valid non-empty string"}
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	// go-oidc flattens the key set's errors to text: keys keeps the error
	// aside, to tell a provider whose JWKS cannot be fetched from a bad token.
	keys := &keyErrRecorder{KeySet: p.keys}
	tok, err := oidc.NewVerifier(p.issuer, keys, p.idTokens).Verify(ctx, raw)
	if err != nil {
		if errors.Is(keys.err, ErrProviderUnavailable) {
			return nil, keys.err
		}
		return nil, &TokenError{Message: "ID token verification failed", Err: err}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, &TokenError{Message: "Failed to parse JWT Payload", Err: err}
	}
	if chk.refresh {
		if tok.Nonce != "" && tok.Nonce != chk.nonce {
			return nil, &TokenError{Message: "Nonce mismatch"}
		}
	} else if tok.Nonce != chk.nonce || chk.nonce == "" {
		return nil, &TokenError{Message: "Nonce mismatch"}
	}
	now := c.now()
	skew := c.cfg.clockSkew
	if tok.IssuedAt.After(now.Add(skew)) {
		return nil, &TokenError{Message: `Unexpected JWT "iat" (issued at) claim value, timestamp is in the future`}
	}
	azp, _ := claims["azp"].(string)
	if (len(tok.Audience) > 1 || azp != "") && azp != c.cfg.clientID {
		return nil, &TokenError{Message: "Invalid authorized party (azp) claim"}
	}
	if chk.maxAge != nil {
		authTime, ok := claims["auth_time"].(float64)
		if !ok {
			return nil, &TokenError{Message: "auth_time claim is required when max_age was requested"}
		}
		deadline := time.Unix(int64(authTime), 0).Add(time.Duration(*chk.maxAge)*time.Second + skew)
		if now.After(deadline) {
			return nil, &TokenError{Message: "Too much time has elapsed since the last End-User authentication"}
		}
	}
	if chk.subject != "" && tok.Subject != chk.subject {
		return nil, &TokenError{Message: "ID token subject changed on refresh"}
	}
	return claims, nil
}

// keyErrRecorder is a key set that keeps the error of its last call.
type keyErrRecorder struct {
	oidc.KeySet
	err error
}

// VerifySignature implements oidc.KeySet.
func (k *keyErrRecorder) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.KeySet.VerifySignature(ctx, jwt)
	k.err = err
	return payload, err
}

// unverifiedClaim returns a claim of a JWT that was verified when it was
// stored in the session; it checks nothing.
func unverifiedClaim(jwt, claim string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil {
		return ""
	}
	s, _ := m[claim].(string)
	return s
}

// userClaims returns the ID token claims that become the user: all but the
// filtered ones.
func (c *Client) userClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		if !slices.Contains(c.cfg.filteredClaims, k) {
			out[k] = v
		}
	}
	return out
}
