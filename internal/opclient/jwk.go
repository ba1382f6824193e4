package opclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// minAssertionRSABits is the smallest RSA modulus accepted for client
// assertions.
const minAssertionRSABits = 2048

// ParseAssertionJWK parses a private JWK with kid and alg, as MonoCloud's
// SDKs hold the private_key_jwt key in the client secret, and checks that
// its type, curve and size suit alg. Its errors never quote the key.
func ParseAssertionJWK(secret string) (*AssertionKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(secret)); err != nil {
		return nil, fmt.Errorf("must be a private JWK for private_key_jwt: %w", err)
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return nil, fmt.Errorf("must be a private RSA or EC JWK for private_key_jwt, got a %T", jwk.Key)
	}
	if jwk.KeyID == "" {
		return nil, fmt.Errorf("a key ID (kid) is required for private_key_jwt")
	}
	alg := jose.SignatureAlgorithm(jwk.Algorithm)
	var curve elliptic.Curve
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		pub, ok := signer.Public().(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < minAssertionRSABits {
			return nil, fmt.Errorf("alg %s needs an RSA key of at least %d bits", alg, minAssertionRSABits)
		}
	case jose.ES256:
		curve = elliptic.P256()
	case jose.ES384:
		curve = elliptic.P384()
	case jose.ES512:
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("alg %q is not supported for private_key_jwt: use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512", alg)
	}
	if curve != nil {
		if pub, ok := signer.Public().(*ecdsa.PublicKey); !ok || pub.Curve != curve {
			return nil, fmt.Errorf("alg %s needs an ECDSA key on %s", alg, curve.Params().Name)
		}
	}
	return &AssertionKey{Key: cryptosigner.Opaque(signer), KeyID: jwk.KeyID, Algorithm: alg}, nil
}
