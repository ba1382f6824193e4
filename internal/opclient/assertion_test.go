package opclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestClientAssertion checks the form and the assertion sent by the JWT
// methods to each endpoint, by verifying what the server received.
func TestClientAssertion(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hmacSecret := strings.Repeat("s", 32)
	now := time.Unix(1_700_000_000, 0)
	const aud = "https://op.example/token"
	for _, tc := range []struct {
		name   string
		method AuthMethod
		verify any
		alg    jose.SignatureAlgorithm
		kid    string
	}{
		{"client_secret_jwt", ClientSecretJWT, []byte(hmacSecret), jose.HS256, ""},
		{"private_key_jwt", PrivateKeyJWT, &ec.PublicKey, jose.ES256, "k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokenSrv, tokenRec := newServer(t, 200, tokenBody)
			parSrv, parRec := newServer(t, 201, parBody)
			c := &Client{
				HTTPClient: tokenSrv.Client(), ClientID: clientID, ClientSecret: hmacSecret,
				AuthMethod: tc.method, Audience: aud, Now: func() time.Time { return now },
				Key: &AssertionKey{Key: ec, KeyID: "k1", Algorithm: jose.ES256},
			}
			ctx := context.Background()
			if _, err := c.ExchangeCode(ctx, tokenSrv.URL, "code", "https://app/cb", "", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Refresh(ctx, tokenSrv.URL, "rt", nil, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PushAuthorization(ctx, parSrv.URL, url.Values{"client_id": {"other"}}); err != nil {
				t.Fatal(err)
			}
			jtis := map[string]bool{}
			for _, r := range append(tokenRec.requests(), parRec.requests()...) {
				if r.authorization != "" {
					t.Errorf("Authorization header %q sent with an assertion", r.authorization)
				}
				f, err := url.ParseQuery(r.body)
				if err != nil {
					t.Fatal(err)
				}
				if got := f["client_id"]; len(got) != 1 || got[0] != clientID {
					t.Errorf("client_id = %q, want [%q]", got, clientID)
				}
				if f.Has("client_secret") {
					t.Error("client_secret sent with an assertion")
				}
				if got := f.Get("client_assertion_type"); got != assertionType {
					t.Errorf("client_assertion_type = %q", got)
				}
				tok, err := jwt.ParseSigned(f.Get("client_assertion"), []jose.SignatureAlgorithm{tc.alg})
				if err != nil {
					t.Fatalf("parsing assertion: %v", err)
				}
				h := tok.Headers[0]
				if h.KeyID != tc.kid || h.ExtraHeaders["typ"] != "JWT" {
					t.Errorf("header kid %q typ %v, want kid %q typ JWT", h.KeyID, h.ExtraHeaders["typ"], tc.kid)
				}
				var cl jwt.Claims
				if err := tok.Claims(tc.verify, &cl); err != nil {
					t.Fatalf("verifying assertion: %v", err)
				}
				if err := cl.ValidateWithLeeway(jwt.Expected{Issuer: clientID, Subject: clientID, AnyAudience: jwt.Audience{aud}, Time: now}, 0); err != nil {
					t.Error(err)
				}
				if !cl.IssuedAt.Time().Equal(now) || !cl.Expiry.Time().Equal(now.Add(time.Minute)) {
					t.Errorf("iat %v exp %v, want %v and a minute later", cl.IssuedAt.Time(), cl.Expiry.Time(), now)
				}
				if len(cl.ID) < 16 || jtis[cl.ID] {
					t.Errorf("jti %q is short or reused", cl.ID)
				}
				jtis[cl.ID] = true
			}
			if len(jtis) != 3 {
				t.Errorf("%d assertions checked, want 3", len(jtis))
			}
		})
	}
}

// TestClientAssertionFailure checks that an assertion that cannot be signed
// fails before anything is sent.
func TestClientAssertionFailure(t *testing.T) {
	srv, rec := newServer(t, 200, tokenBody)
	for name, c := range map[string]*Client{
		"short HMAC secret": {ClientSecret: "short", AuthMethod: ClientSecretJWT},
		"no key":            {ClientSecret: "s", AuthMethod: PrivateKeyJWT},
	} {
		c.HTTPClient, c.ClientID, c.Audience = srv.Client(), clientID, srv.URL
		_, err := c.Refresh(context.Background(), srv.URL, "rt", nil, "")
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindValidation {
			t.Errorf("%s: error %v, want a validation *Error", name, err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}
