package opclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// minAssertionRSABits is the smallest RSA modulus accepted for client
// assertions.
const minAssertionRSABits = 2048

// ParseAssertionJWK parses a private JWK with kid and alg, as MonoCloud's
// SDKs hold the private_key_jwt key in the client secret, and checks it as
// NewAssertionKey does. Its errors never quote the key.
func ParseAssertionJWK(secret string) (*AssertionKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(secret)); err != nil {
		return nil, fmt.Errorf("must be a private JWK for private_key_jwt: %w", err)
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return nil, fmt.Errorf("must be a private RSA or EC JWK for private_key_jwt, got a %T", jwk.Key)
	}
	return NewAssertionKey(signer, jwk.KeyID, jwk.Algorithm)
}

// NewAssertionKey returns signer as the private_key_jwt key with kid and
// alg, after checking that its type, curve and size suit alg: RSA of at
// least 2048 bits for RS* and PS*, ECDSA on the curve of ES256, ES384 or
// ES512. It does not check that the provider knows the key.
func NewAssertionKey(signer crypto.Signer, kid, alg string) (*AssertionKey, error) {
	if signer == nil {
		return nil, errors.New("a private key is required")
	}
	if kid == "" {
		return nil, errors.New("a key ID (kid) is required for private_key_jwt")
	}
	var curve elliptic.Curve
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		pub, ok := signer.Public().(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("alg %s needs an RSA key, got %T", alg, signer.Public())
		}
		if n := pub.N.BitLen(); n < minAssertionRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too small: at least %d are required", n, minAssertionRSABits)
		}
	case jose.ES256:
		curve = elliptic.P256()
	case jose.ES384:
		curve = elliptic.P384()
	case jose.ES512:
		curve = elliptic.P521()
	case "":
		return nil, errors.New("an algorithm (alg) is required for private_key_jwt")
	default:
		return nil, fmt.Errorf("alg %q is not supported for private_key_jwt: use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512", alg)
	}
	if curve != nil {
		if pub, ok := signer.Public().(*ecdsa.PublicKey); !ok || pub.Curve != curve {
			return nil, fmt.Errorf("alg %s needs an ECDSA key on %s, got %T", alg, curve.Params().Name, signer.Public())
		}
	}
	return &AssertionKey{Key: cryptosigner.Opaque(signer), KeyID: kid, Algorithm: jose.SignatureAlgorithm(alg)}, nil
}
