package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// Verifier verifies the tokens the provider issues to one client: ID
// tokens, logout tokens and signed userinfo answers. It holds no state of
// its own beyond the shared KeySet.
type Verifier struct {
	// Issuer is the discovered issuer, which tokens must name exactly.
	Issuer string
	// ClientID is the audience tokens must name.
	ClientID string
	// Algorithm is the only signing algorithm accepted.
	Algorithm jose.SignatureAlgorithm
	// Keys is the provider's key set.
	Keys *KeySet
	// Now is the provider's clock, against which token times are checked;
	// nil means time.Now.
	Now func() time.Time
	// Leeway is how far token times may be off that clock.
	Leeway time.Duration
}

// ErrNotUTF8 reports a JWT whose header or payload is not valid UTF-8,
// which encoding/json would decode with replacement characters.
var ErrNotUTF8 = errors.New("the JWT header or payload is not valid UTF-8")

// checkUTF8 returns ErrNotUTF8 when the header or the payload of the
// compact JWT raw decode to invalid UTF-8 (RFC 7519 section 7.2 requires
// UTF-8). Other defects are left to the signature check.
func checkUTF8(raw string) error {
	parts := strings.SplitN(raw, ".", 3)
	for _, part := range parts[:min(len(parts), 2)] {
		if b, err := base64.RawURLEncoding.DecodeString(part); err == nil && !utf8.Valid(b) {
			return ErrNotUTF8
		}
	}
	return nil
}

// verifyJWT parses raw as a compact JWS signed with v.Algorithm and
// verifies it with v.Keys as Verify does for src.
func (v *Verifier) verifyJWT(ctx context.Context, raw string, src Source) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{v.Algorithm})
	if err != nil {
		return nil, &Error{Kind: Invalid, Op: "verify", Message: "malformed JWS", Err: err}
	}
	return v.Keys.Verify(ctx, jws, src)
}

// oidcKeys is v's key set as go-oidc's verifier uses it, for Trusted
// tokens. It keeps the error of its last call aside, as go-oidc flattens it
// to text, to tell a provider whose keys cannot be fetched from a bad
// token.
type oidcKeys struct {
	v   *Verifier
	err error
}

// VerifySignature implements oidc.KeySet.
func (k *oidcKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.v.verifyJWT(ctx, jwt, Trusted)
	k.err = err
	return payload, err
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// invalid returns an Invalid *Error of Op "verify".
func invalid(message string, err error) *Error {
	return &Error{Kind: Invalid, Op: "verify", Message: message, Err: err}
}

// IDTokenCheck is what an ID token is checked against beyond its
// signature, issuer, audience and expiry.
type IDTokenCheck struct {
	// Nonce must equal the token's nonce on callback. On refresh (Refresh
	// true) the token's nonce may be absent or equal to Nonce.
	Nonce   string
	Refresh bool
	// MaxAge, when set, requires auth_time within MaxAge seconds.
	MaxAge *int
	// Subject, when set, must equal the token's sub (refresh).
	Subject string
}

// VerifyIDToken validates raw, an ID token of a token response, and
// returns its claims. It applies the rules of OpenID Connect Core 1.0
// section 3.1.3.7 (code flow, section 3.1.3.8 for at_hash) as follows.
//
// Checked:
//   - the signature: a compact JWS with one signature, algorithm
//     v.Algorithm (so never "none" or an HMAC), by a key of the provider's
//     key set (refetched at once for an unknown kid: the token is
//     Trusted); rule 6, although the TLS answer of the token endpoint
//     would allow skipping it;
//   - the typ header, when present: JWT (RFC 8725 section 3.11), so that
//     the provider's other JWTs, such as logout tokens (logout+jwt) or
//     access tokens (at+jwt), do not pass for ID tokens;
//   - iss equals the discovered issuer exactly (rule 2);
//   - aud contains the client ID (rule 3); with several audiences, azp is
//     required (rule 4), and when present azp equals the client ID (rule 5);
//   - exp is present and not past, with the leeway (rule 9); nbf, when
//     present, not ahead (go-oidc, with its own 5-minute leeway);
//   - iat is present (section 2: REQUIRED) and not ahead of now by more
//     than the leeway (rule 10);
//   - sub is present and not empty (section 2: REQUIRED); on refresh it
//     equals the session's (section 12.2);
//   - nonce equals the one sent on sign-in, which always sends one
//     (rule 11); on refresh it is absent or equal (section 12.2);
//   - auth_time is present and within max_age plus the leeway when the
//     sign-in requested max_age (rule 13).
//
// Not checked:
//   - encrypted ID tokens (rule 1): not supported, they fail to parse;
//   - other audiences than the client (rule 3 leaves them to the client's
//     trust): accepted as long as azp names the client;
//   - how long ago iat was (rule 10 leaves the bound to the client): exp
//     bounds the token's use;
//   - acr (rule 12), even when acr_values was requested: the provider may
//     answer a weaker class, and only the application knows what it
//     accepts;
//   - at_hash and c_hash (section 3.1.3.8, OPTIONAL in the code flow): the
//     access token and the ID token come in the same TLS answer of the
//     token endpoint, so a mismatch could only be the provider's own;
//   - auth_time against the original one on refresh (section 12.2).
//
// An invalid token is an Invalid *Error whose Message says why; keys that
// cannot be fetched give the key set's error.
func (v *Verifier) VerifyIDToken(ctx context.Context, raw string, chk IDTokenCheck) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, invalid("ID Token must be a valid non-empty string", nil)
	}
	if err := checkUTF8(raw); err != nil {
		return nil, invalid("ID token verification failed", err)
	}
	if typ, ok := jwtType(raw); ok && !isJWTType(typ) {
		return nil, invalid(fmt.Sprintf("Unexpected JWT typ header %q for an ID token", typ), nil)
	}
	keys := &oidcKeys{v: v}
	config := &oidc.Config{
		ClientID:             v.ClientID,
		SupportedSigningAlgs: []string{string(v.Algorithm)},
		// go-oidc rejects exp < now: its clock is shifted back by the
		// leeway to accept tokens that expired within it.
		Now: func() time.Time { return v.now().Add(-v.Leeway) },
	}
	tok, err := oidc.NewVerifier(v.Issuer, keys, config).Verify(ctx, raw)
	if err != nil {
		if k := KindOf(keys.err); k != 0 && k != Invalid {
			return nil, keys.err
		}
		return nil, invalid("ID token verification failed", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, invalid("Failed to parse JWT Payload", err)
	}
	if chk.Refresh {
		if tok.Nonce != "" && tok.Nonce != chk.Nonce {
			return nil, invalid("Nonce mismatch", nil)
		}
	} else if tok.Nonce != chk.Nonce || chk.Nonce == "" {
		return nil, invalid("Nonce mismatch", nil)
	}
	if _, ok := claims["iat"].(float64); !ok {
		return nil, invalid(`Missing required JWT "iat" (issued at) claim`, nil)
	}
	if tok.Subject == "" {
		return nil, invalid(`Missing required JWT "sub" (subject) claim`, nil)
	}
	now := v.now()
	if tok.IssuedAt.After(now.Add(v.Leeway)) {
		return nil, invalid(`Unexpected JWT "iat" (issued at) claim value, timestamp is in the future`, nil)
	}
	azp, _ := claims["azp"].(string)
	if (len(tok.Audience) > 1 || azp != "") && azp != v.ClientID {
		return nil, invalid("Invalid authorized party (azp) claim", nil)
	}
	if chk.MaxAge != nil {
		authTime, ok := claims["auth_time"].(float64)
		if !ok {
			return nil, invalid("auth_time claim is required when max_age was requested", nil)
		}
		deadline := time.Unix(int64(authTime), 0).Add(time.Duration(*chk.MaxAge)*time.Second + v.Leeway)
		if now.After(deadline) {
			return nil, invalid("Too much time has elapsed since the last End-User authentication", nil)
		}
	}
	if chk.Subject != "" && tok.Subject != chk.Subject {
		return nil, invalid("ID token subject changed on refresh", nil)
	}
	return claims, nil
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
