package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

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
