package provider

import (
	"context"

	"github.com/go-jose/go-jose/v4"
)

// Verifier verifies compact JWS from one source with a KeySet. Its
// VerifySignature method is go-oidc's oidc.KeySet, so that the relying
// party's ID token verifier (Trusted: tokens from the token endpoint) and
// logout token checks (Untrusted) can share one KeySet, each with its own
// refetch policy.
type Verifier struct {
	Keys       *KeySet
	Source     Source
	Algorithms []jose.SignatureAlgorithm
}

// VerifySignature parses raw with v's algorithms and returns its payload
// if a key of the set verifies it. The error is an *Error.
func (v Verifier) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, v.Algorithms)
	if err != nil {
		return nil, &Error{Kind: Invalid, Op: "verify", Message: "malformed JWS", Err: err}
	}
	return v.Keys.Verify(ctx, jws, v.Source)
}
