package monocloud

import (
	"crypto"

	"github.com/monocloud/auth-go/internal/opclient"
)

// ClientAssertionKey is a private key that signs private_key_jwt client
// assertions (OpenID Connect Core section 9), for a key held outside the
// environment, such as in a KMS or an HSM. The provider must know its public
// key under KeyID, usually through the client's registered JWKS.
type ClientAssertionKey struct {
	// Signer is the private key, such as an *rsa.PrivateKey, an
	// *ecdsa.PrivateKey or a KMS signer. Its public key must be RSA of at
	// least 2048 bits, or ECDSA on the curve of Algorithm.
	Signer crypto.Signer
	// KeyID is the kid header of the assertions. Required.
	KeyID string
	// Algorithm is the alg header: RS256, RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384 or ES512. Required.
	Algorithm string
}

// clientAuth resolves the client authentication method named method ("" for
// the default) and, for private_key_jwt, its key: assertionKey if set,
// otherwise the private JWK in secret. It checks the algorithm, key type,
// curve and RSA size; it does not check that the provider knows the key.
func (r *resolver) clientAuth(method string, assertionKey *ClientAssertionKey, secret string) (opclient.AuthMethod, *opclient.AssertionKey) {
	if method == "" {
		method = "client_secret_basic"
		if assertionKey != nil {
			method = "private_key_jwt"
		}
	}
	if assertionKey != nil && method != "private_key_jwt" {
		r.Fail("ClientAssertionKey", "", "requires ClientAuthMethod private_key_jwt, got %q", method)
		return opclient.ClientSecretBasic, nil
	}
	m, err := opclient.ParseAuthMethod(method)
	if err != nil {
		r.Fail("ClientAuthMethod", "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD", "%v", err)
		return opclient.ClientSecretBasic, nil
	}
	if k := assertionKey; k != nil {
		key, err := opclient.NewAssertionKey(k.Signer, k.KeyID, k.Algorithm)
		if err != nil {
			r.Fail("ClientAssertionKey", "", "%v", err)
		}
		return m, key
	}
	key, err := m.ParseSecret(secret)
	if err != nil {
		r.Fail("ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET", "%v", err)
	}
	return m, key
}

// mutualTLS reports whether method names a client authentication method of
// RFC 8705: the client certificate authenticates the client, so it needs no
// ClientSecret.
func mutualTLS(method string) bool {
	m, err := opclient.ParseAuthMethod(method)
	return err == nil && m.MutualTLS()
}
