package opclient

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 section 2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid.
const assertionLifetime = 60 * time.Second

// AssertionKey is the key that signs private_key_jwt client assertions.
// Its fields are not checked here: the caller validates them.
type AssertionKey struct {
	// Key is a private key go-jose can sign with, such as a crypto.Signer.
	Key any
	// KeyID is the kid header of the assertion.
	KeyID string
	// Algorithm is the alg header of the assertion, such as RS256.
	Algorithm jose.SignatureAlgorithm
}

// assertion returns a fresh client assertion for c (OpenID Connect Core
// section 9): iss and sub are the client ID, aud is c.Audience, and it
// carries a random jti, iat and an exp assertionLifetime later.
func (c *Client) assertion() (string, error) {
	var key jose.SigningKey
	opts := new(jose.SignerOptions).WithType("JWT")
	switch c.AuthMethod {
	case ClientSecretJWT:
		key = jose.SigningKey{Algorithm: jose.HS256, Key: []byte(c.ClientSecret)}
	case PrivateKeyJWT:
		if c.Key == nil {
			return "", errors.New("no key for private_key_jwt")
		}
		key = jose.SigningKey{Algorithm: c.Key.Algorithm, Key: c.Key.Key}
		opts = opts.WithHeader("kid", c.Key.KeyID)
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		return "", fmt.Errorf("client assertion signer: %w", err)
	}
	id := make([]byte, 16)
	rand.Read(id) // never fails
	now := c.now()
	claims := jwt.Claims{
		Issuer:   c.ClientID,
		Subject:  c.ClientID,
		Audience: jwt.Audience{c.Audience},
		ID:       base64.RawURLEncoding.EncodeToString(id),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing client assertion: %w", err)
	}
	return s, nil
}
