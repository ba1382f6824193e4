package monocloud

import (
	"crypto"
	"crypto/tls"
	"fmt"
	"net/http"

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

// minHMACSecretLength is the shortest client secret that can key HS256
// (RFC 7518 section 3.2).
const minHMACSecretLength = 32

// clientAuth resolves the client authentication method and, for
// private_key_jwt, its key: o.ClientAssertionKey if set, otherwise the
// private JWK in secret. It checks the algorithm, key type, curve and RSA
// size; it does not check that the provider knows the key.
func (r *resolver) clientAuth(o Options, secret string) (opclient.AuthMethod, *opclient.AssertionKey) {
	const field, env = "ClientAuthMethod", "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD"
	def := "client_secret_basic"
	if o.ClientAssertionKey != nil {
		def = "private_key_jwt"
	}
	m := r.String(o.ClientAuthMethod, env, def)
	if o.ClientAssertionKey != nil && m != "private_key_jwt" {
		r.Fail("ClientAssertionKey", "", "requires ClientAuthMethod private_key_jwt, got %q", m)
		return opclient.ClientSecretBasic, nil
	}
	switch m {
	case "client_secret_basic":
		return opclient.ClientSecretBasic, nil
	case "client_secret_post":
		return opclient.ClientSecretPost, nil
	case "client_secret_jwt":
		if secret != "" && len(secret) < minHMACSecretLength {
			r.Fail("ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET", "must be at least %d bytes long to sign client_secret_jwt assertions with HS256", minHMACSecretLength)
		}
		return opclient.ClientSecretJWT, nil
	case "private_key_jwt":
		if k := o.ClientAssertionKey; k != nil {
			key, err := opclient.NewAssertionKey(k.Signer, k.KeyID, k.Algorithm)
			if err != nil {
				r.Fail("ClientAssertionKey", "", "%v", err)
			}
			return opclient.PrivateKeyJWT, key
		}
		if secret == "" {
			return opclient.PrivateKeyJWT, nil // reported as required
		}
		key, err := opclient.ParseAssertionJWK(secret)
		if err != nil {
			r.Fail("ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET", "%v", err)
		}
		return opclient.PrivateKeyJWT, key
	}
	if method, ok := mutualTLSMethods[m]; ok {
		return method, nil
	}
	r.Fail(field, env, "must be client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth or self_signed_tls_client_auth, got %q", m)
	return opclient.ClientSecretBasic, nil
}

// mutualTLSMethods are the client authentication methods of RFC 8705, by
// name: the client certificate authenticates the client, so they need no
// ClientSecret.
var mutualTLSMethods = map[string]opclient.AuthMethod{
	"tls_client_auth":             opclient.TLSClientAuth,
	"self_signed_tls_client_auth": opclient.SelfSignedTLSClientAuth,
}

// withClientCertificate returns a copy of client (http.DefaultClient when
// nil) that presents cert in TLS handshakes, or client itself with the
// error when its transport is not an *http.Transport, which it clones.
func withClientCertificate(client *http.Client, cert *tls.Certificate) (*http.Client, error) {
	withCert := http.Client{}
	if client != nil {
		withCert = *client
	}
	rt := withCert.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return client, fmt.Errorf("HTTPClient's Transport must be an *http.Transport to add the certificate to, got a %T: present the certificate in its transport instead", rt)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	withCert.Transport = t
	return &withCert, nil
}
