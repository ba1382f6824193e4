package monocloudtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestClientAssertion checks that the token endpoint verifies
// client_secret_jwt and private_key_jwt assertions. Authentication that
// succeeds is seen as invalid_grant, for the unknown refresh token sent.
func TestClientAssertion(t *testing.T) {
	secret := strings.Repeat("k", 32)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	newOP := func(method string) *Provider {
		return NewProvider(t, Config{ClientSecret: secret, ClientAuthMethod: method, ClientPublicKey: &key.PublicKey, Now: clock.Now})
	}
	op := newOP("")
	valid := func() jwt.Claims {
		return jwt.Claims{
			Issuer: testClientID, Subject: testClientID, Audience: jwt.Audience{op.Issuer() + tokenPath},
			ID: rand.Text(), IssuedAt: jwt.NewNumericDate(clock.Now()), Expiry: jwt.NewNumericDate(clock.Now().Add(time.Minute)),
		}
	}
	hs := jose.SigningKey{Algorithm: jose.HS256, Key: []byte(secret)}
	es := jose.SigningKey{Algorithm: jose.ES256, Key: key}
	send := func(op *Provider, signing jose.SigningKey, claims jwt.Claims, extra url.Values) (int, map[string]any) {
		t.Helper()
		signer, err := jose.NewSigner(signing, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {"unknown"},
			"client_id": {testClientID}, "client_assertion_type": {assertionType}, "client_assertion": {a},
		}
		for k, v := range extra {
			form[k] = v
		}
		return postForm(t, op, tokenPath, form, func(*http.Request) {})
	}
	edit := func(f func(*jwt.Claims)) jwt.Claims {
		c := valid()
		f(&c)
		return c
	}

	for _, tc := range []struct {
		name    string
		signing jose.SigningKey
		claims  jwt.Claims
		extra   url.Values
		want    string
	}{
		{"client_secret_jwt", hs, valid(), nil, "invalid_grant"},
		{"private_key_jwt", es, valid(), nil, "invalid_grant"},
		{"aud issuer", es, edit(func(c *jwt.Claims) { c.Audience = jwt.Audience{op.Issuer()} }), nil, "invalid_grant"},
		{"wrong HMAC key", jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("x", 32))}, valid(), nil, "invalid_client"},
		{"wrong private key", jose.SigningKey{Algorithm: jose.ES256, Key: other}, valid(), nil, "invalid_client"},
		{"iss", es, edit(func(c *jwt.Claims) { c.Issuer = "other" }), nil, "invalid_client"},
		{"sub", es, edit(func(c *jwt.Claims) { c.Subject = "other" }), nil, "invalid_client"},
		{"aud", es, edit(func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://elsewhere/token"} }), nil, "invalid_client"},
		{"expired", es, edit(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(clock.Now()) }), nil, "invalid_client"},
		{"no exp", es, edit(func(c *jwt.Claims) { c.Expiry = nil }), nil, "invalid_client"},
		{"no iat", es, edit(func(c *jwt.Claims) { c.IssuedAt = nil }), nil, "invalid_client"},
		{"no jti", es, edit(func(c *jwt.Claims) { c.ID = "" }), nil, "invalid_client"},
		{"other client_id", es, valid(), url.Values{"client_id": {"other"}}, "invalid_request"},
		{"assertion type", es, valid(), url.Values{"client_assertion_type": {"jwt"}}, "invalid_request"},
		{"with client_secret", hs, valid(), url.Values{"client_secret": {secret}}, "invalid_request"},
	} {
		status, body := send(op, tc.signing, tc.claims, tc.extra)
		if body["error"] != tc.want {
			t.Errorf("%s: got %d %v, want error %q", tc.name, status, body, tc.want)
		}
	}

	t.Run("replayed jti", func(t *testing.T) {
		c := valid()
		send(op, es, c, nil)
		status, body := send(op, es, c, nil)
		wantError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("registered method", func(t *testing.T) {
		status, body := send(newOP(authMethodPrivateKeyJWT), hs, valid(), nil)
		wantError(t, status, body, http.StatusUnauthorized, "invalid_client")
		status, body = postForm(t, newOP(authMethodSecretJWT), tokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, basicAuth)
		wantError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("no public key", func(t *testing.T) {
		op := NewProvider(t, Config{Now: clock.Now})
		status, body := send(op, es, valid(), nil)
		wantError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
}

func TestClientCredentials(t *testing.T) {
	id, secret := NewProvider(t, Config{}).ClientCredentials()
	if id != testClientID || secret != testSecret {
		t.Errorf("default ClientCredentials() = %q, %q; want %q, %q", id, secret, testClientID, testSecret)
	}
	id, secret = NewProvider(t, Config{ClientID: "app", ClientSecret: "s3cret"}).ClientCredentials()
	if id != "app" || secret != "s3cret" {
		t.Errorf("ClientCredentials() = %q, %q; want the configured ones", id, secret)
	}
}
