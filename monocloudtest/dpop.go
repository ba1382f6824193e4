package monocloudtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoPKey is a client's DPoP key (RFC 9449): an ECDSA P-256 key that signs
// proofs, to which access tokens are bound by its thumbprint.
type DPoPKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

// NewDPoPKey generates a DPoP key.
func NewDPoPKey(t TestingT) *DPoPKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("monocloudtest: generating DPoP key: %v", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatalf("monocloudtest: DPoP key thumbprint: %v", err)
	}
	return &DPoPKey{priv: priv, jkt: base64.RawURLEncoding.EncodeToString(thumb)}
}

// Thumbprint returns the key's JWK SHA-256 thumbprint (RFC 7638), the
// cnf.jkt of the tokens bound to it.
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// DPoPProof describes a DPoP proof. Method and URL are required.
type DPoPProof struct {
	// Method and URL are the htm and htu claims.
	Method, URL string
	// AccessToken, if set, gives the ath claim.
	AccessToken string
	// Nonce is the nonce claim, if the server requires one.
	Nonce string
	// IssuedAt is the iat claim; it defaults to now.
	IssuedAt time.Time
	// JTI is the jti claim; it defaults to a random value.
	JTI string
	// Type is the typ header; it defaults to "dpop+jwt".
	Type string
}

// Proof returns a DPoP proof for a request to method and url that
// presents accessToken ("" for none).
func (k *DPoPKey) Proof(t TestingT, method, url, accessToken string) string {
	t.Helper()
	return k.SignProof(t, DPoPProof{Method: method, URL: url, AccessToken: accessToken})
}

// SignProof returns the DPoP proof p, signed with k with its public key in
// the jwk header.
func (k *DPoPKey) SignProof(t TestingT, p DPoPProof) string {
	t.Helper()
	if p.IssuedAt.IsZero() {
		p.IssuedAt = time.Now()
	}
	if p.JTI == "" {
		p.JTI = rand.Text()
	}
	if p.Type == "" {
		p.Type = "dpop+jwt"
	}
	claims := map[string]any{"htm": p.Method, "htu": p.URL, "iat": p.IssuedAt.Unix(), "jti": p.JTI}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(jose.ContentType(p.Type))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatalf("monocloudtest: DPoP signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("monocloudtest: signing DPoP proof: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	return s
}
