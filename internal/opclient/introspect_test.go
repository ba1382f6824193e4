package opclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestIntrospect(t *testing.T) {
	var form map[string][]string
	answer := `{"active":true,"scope":"read","exp":1}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form = r.PostForm
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := &Client{HTTPClient: srv.Client(), ClientID: "id", ClientSecret: "secret", AuthMethod: ClientSecretPost}
	resp, err := c.Introspect(t.Context(), srv.URL, "tok")
	if err != nil || resp["active"] != true || resp["scope"] != "read" {
		t.Fatalf("resp %v, %v", resp, err)
	}
	for name, want := range map[string]string{"token": "tok", "token_type_hint": "access_token", "client_id": "id", "client_secret": "secret"} {
		if got := form[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %q", name, got, want)
		}
	}
	answer = `null`
	var e *Error
	if _, err := c.Introspect(t.Context(), srv.URL, "tok"); !errors.As(err, &e) || e.Kind != KindHTTP {
		t.Errorf("a body that is not an object: %v, want a KindHTTP *Error", err)
	}
}

func TestParseAssertionJWK(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	jwk := func(key any, kid, alg string) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"EC P-256 with ES256", jwk(ec, "k", "ES256"), true},
		{"not JSON", "secret", false},
		{"public key", jwk(&ec.PublicKey, "k", "ES256"), false},
		{"no kid", jwk(ec, "", "ES256"), false},
		{"curve of another alg", jwk(ec, "k", "ES384"), false},
		{"HMAC alg", jwk(ec, "k", "HS256"), false},
		{"RSA below 2048 bits", jwk(small, "k", "RS256"), false},
	} {
		key, err := ParseAssertionJWK(tc.secret)
		if (err == nil) != tc.ok || (tc.ok && (key.KeyID != "k" || key.Algorithm != jose.ES256)) {
			t.Errorf("%s: key %+v, err %v", tc.name, key, err)
		}
	}
}
