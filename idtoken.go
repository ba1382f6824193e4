package monocloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

// verifyIDToken validates raw, an ID token of a token response, and
// returns its claims. It applies the rules of OpenID Connect Core 1.0
// section 3.1.3.7 (code flow, section 3.1.3.8 for at_hash) as follows.
//
// Checked:
//   - the signature: a compact JWS with one signature, algorithm
//     IDTokenSigningAlg (so never "none" or an HMAC), by a key of the
//     provider's JWKS (refetched at once for an unknown kid, see
//     fromProvider); rule 6, although the TLS answer of the token
//     endpoint would allow skipping it;
//   - the typ header, when present: JWT (RFC 8725 section 3.11), so that
//     the provider's other JWTs, such as logout tokens (logout+jwt) or
//     access tokens (at+jwt), do not pass for ID tokens;
//   - iss equals the discovered issuer exactly (rule 2);
//   - aud contains the client ID (rule 3); with several audiences, azp is
//     required (rule 4), and when present azp equals the client ID (rule 5);
//   - exp is present and not past, with the clock skew (rule 9); nbf, when
//     present, not ahead (go-oidc, with its own 5-minute leeway);
//   - iat is present (section 2: REQUIRED) and not ahead of now by more
//     than the clock skew (rule 10);
//   - sub is present and not empty (section 2: REQUIRED); on refresh it
//     equals the session's (section 12.2);
//   - nonce equals the one sent on sign-in, which always sends one
//     (rule 11); on refresh it is absent or equal (section 12.2);
//   - auth_time is present and within max_age plus the clock skew when
//     the sign-in requested max_age (rule 13).
//
// Not checked:
//   - encrypted ID tokens (rule 1): not supported, they fail to parse;
//   - other audiences than the client (rule 3 leaves them to the client's
//     trust): accepted as long as azp names the client;
//   - how long ago iat was (rule 10 leaves the bound to the client): exp
//     bounds the token's use;
//   - acr (rule 12), even when acr_values was requested: the provider may
//     answer a weaker class, and only the application knows what it
//     accepts; it sees the claim in OnSessionCreating and in the user;
//   - at_hash and c_hash (section 3.1.3.8, OPTIONAL in the code flow): the
//     access token and the ID token come in the same TLS answer of the
//     token endpoint, so a mismatch could only be the provider's own;
//   - auth_time against the original one on refresh (section 12.2).
func (c *Client) verifyIDToken(ctx context.Context, raw string, chk idTokenCheck) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "ID Token must be a valid non-empty string"}
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUTF8(raw); err != nil {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "ID token verification failed", Err: err}
	}
	if typ, ok := jwtType(raw); ok && !isJWTType(typ) {
		return nil, &TokenError{Code: CodeInvalidToken, Message: fmt.Sprintf("Unexpected JWT typ header %q for an ID token", typ)}
	}
	keys := &providerKeys{keySet: p.keys}
	tok, err := oidc.NewVerifier(p.issuer, keys, p.idTokens).Verify(ctx, raw)
	if err != nil {
		if errors.Is(keys.err, ErrProviderUnavailable) {
			return nil, keys.err
		}
		return nil, &TokenError{Code: CodeInvalidToken, Message: "ID token verification failed", Err: err}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Failed to parse JWT Payload", Err: err}
	}
	if chk.refresh {
		if tok.Nonce != "" && tok.Nonce != chk.nonce {
			return nil, &TokenError{Code: CodeInvalidToken, Message: "Nonce mismatch"}
		}
	} else if tok.Nonce != chk.nonce || chk.nonce == "" {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Nonce mismatch"}
	}
	if _, ok := claims["iat"].(float64); !ok {
		return nil, &TokenError{Code: CodeInvalidToken, Message: `Missing required JWT "iat" (issued at) claim`}
	}
	if tok.Subject == "" {
		return nil, &TokenError{Code: CodeInvalidToken, Message: `Missing required JWT "sub" (subject) claim`}
	}
	now, skew := c.tokenNow(), c.cfg.clockTolerance
	if tok.IssuedAt.After(now.Add(skew)) {
		return nil, &TokenError{Code: CodeInvalidToken, Message: `Unexpected JWT "iat" (issued at) claim value, timestamp is in the future`}
	}
	azp, _ := claims["azp"].(string)
	if (len(tok.Audience) > 1 || azp != "") && azp != c.cfg.clientID {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "Invalid authorized party (azp) claim"}
	}
	if chk.maxAge != nil {
		authTime, ok := claims["auth_time"].(float64)
		if !ok {
			return nil, &TokenError{Code: CodeInvalidToken, Message: "auth_time claim is required when max_age was requested"}
		}
		deadline := time.Unix(int64(authTime), 0).Add(time.Duration(*chk.maxAge)*time.Second + skew)
		if now.After(deadline) {
			return nil, &TokenError{Code: CodeInvalidToken, Message: "Too much time has elapsed since the last End-User authentication"}
		}
	}
	if chk.subject != "" && tok.Subject != chk.subject {
		return nil, &TokenError{Code: CodeInvalidToken, Message: "ID token subject changed on refresh"}
	}
	return claims, nil
}

// tokenNow returns the time on the provider's clock (ours plus
// Options.ClockSkew), against which token times are checked.
func (c *Client) tokenNow() time.Time {
	return c.now().Add(c.cfg.clockSkew)
}

// providerKeys is the provider's key set as go-oidc's verifier uses it, for
// ID tokens of token responses (fromProvider). It keeps the error of its
// last call aside, as go-oidc flattens it to text, to tell a provider whose
// JWKS cannot be fetched from a bad token.
type providerKeys struct {
	keySet *keySet
	err    error
}

// VerifySignature implements oidc.KeySet.
func (k *providerKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.keySet.verifyJWT(ctx, jwt, fromProvider)
	k.err = err
	return payload, err
}

// errNotUTF8 reports a JWT whose header or payload is not valid UTF-8,
// which encoding/json would decode with replacement characters.
var errNotUTF8 = errors.New("the JWT header or payload is not valid UTF-8")

// checkUTF8 returns errNotUTF8 when the header or the payload of the
// compact JWT raw decode to invalid UTF-8 (RFC 7519 section 7.2 requires
// UTF-8). Other defects are left to the signature check.
func checkUTF8(raw string) error {
	parts := strings.SplitN(raw, ".", 3)
	for _, part := range parts[:min(len(parts), 2)] {
		if b, err := base64.RawURLEncoding.DecodeString(part); err == nil && !utf8.Valid(b) {
			return errNotUTF8
		}
	}
	return nil
}

// jwtType returns the typ header of a compact JWT, and whether it has one
// (a string). It checks nothing else: the signature check parses the
// header again.
func jwtType(jwt string) (string, bool) {
	header, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", false
	}
	var h struct {
		Typ *string `json:"typ"`
	}
	if json.Unmarshal(b, &h) != nil || h.Typ == nil {
		return "", false
	}
	return *h.Typ, true
}

// isJWTType reports whether typ names a plain JWT: "JWT", in any case,
// with or without the "application/" prefix (RFC 7515 section 4.1.9).
func isJWTType(typ string) bool {
	return strings.TrimPrefix(strings.ToLower(typ), "application/") == "jwt"
}

// unverifiedClaim returns a claim of a JWT that was verified when it was
// stored in the session; it checks nothing.
func unverifiedClaim(jwt, claim string) string {
	s, _ := unverifiedClaims(jwt)[claim].(string)
	return s
}

// unverifiedClaims returns the claims of a compact JWT without verifying
// it (nil if it cannot be decoded): for a token verified when received.
func unverifiedClaims(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil {
		return nil
	}
	return m
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
