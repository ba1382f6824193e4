package monocloudtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// signingAlg is the only JWS algorithm the provider signs with.
const signingAlg = string(jose.RS256)

// JWT "typ" header values.
const (
	typJWT         = "JWT"
	typAccessToken = "at+jwt"     // RFC 9068
	typLogoutToken = "logout+jwt" // OpenID Connect Back-Channel Logout 1.0
)

// signingKey is an RSA key with its key ID.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string // RFC 7638 thumbprint of the public key
}

// sharedKey returns the initial signing key of every Provider. RSA key
// generation is slow, so the test binary generates it once.
var sharedKey = sync.OnceValues(newSigningKey)

// newSigningKey generates a fresh 2048-bit RSA signing key.
func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating RSA key: %w", err)
	}
	thumbprint, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing key ID: %w", err)
	}
	return &signingKey{priv: priv, kid: base64.RawURLEncoding.EncodeToString(thumbprint)}, nil
}

// sign returns claims as a compact RS256 JWS with the given typ header.
func (k *signingKey) sign(typ string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %w", err)
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, opts)
	if err != nil {
		return "", fmt.Errorf("creating signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return jws.CompactSerialize()
}

// publicJWK returns the public half of k as a JSON Web Key.
func (k *signingKey) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: signingAlg, Use: "sig"}
}

// signingKey returns the current signing key.
func (p *Provider) signingKey() *signingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.key
}

// SignIDToken signs exactly the given claims as a JWT with typ "JWT", using
// the provider's current key, for tests that craft their own ID tokens.
func (p *Provider) SignIDToken(t TestingT, claims map[string]any) string {
	t.Helper()
	return p.signForTest(t, typJWT, claims)
}

// SignLogoutToken signs exactly the given claims as a JWT with typ
// "logout+jwt", using the provider's current key, for back-channel logout
// tests.
func (p *Provider) SignLogoutToken(t TestingT, claims map[string]any) string {
	t.Helper()
	return p.signForTest(t, typLogoutToken, claims)
}

// SignJWT signs exactly the given claims as a JWT with the given typ header
// ("" for none), using the provider's current key, for tests of typ checks.
func (p *Provider) SignJWT(t TestingT, typ string, claims map[string]any) string {
	t.Helper()
	return p.signForTest(t, typ, claims)
}

// signForTest signs claims with the current key, failing t on error.
func (p *Provider) signForTest(t TestingT, typ string, claims map[string]any) string {
	t.Helper()
	jwt, err := p.signingKey().sign(typ, claims)
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	return jwt
}

// RotateKey replaces the signing key with a newly generated one with a new
// key ID. Afterwards the JWKS serves only the new key, and all tokens are
// signed with it.
func (p *Provider) RotateKey(t TestingT) {
	t.Helper()
	key, err := newSigningKey()
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key = key
}

// JWKSRequests returns the number of requests served by the JWKS endpoint.
func (p *Provider) JWKSRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksRequests
}

// serveJWKS serves the public half of the current signing key.
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.jwksRequests++
	key, fault := p.key, p.jwksFault
	p.mu.Unlock()
	if fault.intercept(w, r, p.closed) {
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.publicJWK()}})
}
