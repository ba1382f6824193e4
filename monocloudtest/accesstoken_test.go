package monocloudtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// introspect posts token to p's introspection endpoint with the given
// client secret and returns the decoded answer and status.
func introspect(t *testing.T, p *Provider, token, secret string) (map[string]any, int) {
	t.Helper()
	form := url.Values{"token": {token}, "client_id": {"test-client"}, "client_secret": {secret}}
	resp, err := p.Client().Post(p.Issuer()+introspectionPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return body, resp.StatusCode
}

func TestIntrospectionOfMintedTokens(t *testing.T) {
	p := NewProvider(t, Config{})
	opaque := p.MintOpaqueToken(t, AccessToken{Audience: "https://api", Scopes: "read", Claims: map[string]any{"groups": []string{"g"}}})
	body, status := introspect(t, p, opaque, "test-secret")
	if status != 200 || body["active"] != true || body["aud"] != "https://api" || body["scope"] != "read" || body["iss"] != p.Issuer() {
		t.Errorf("active token: %d %v", status, body)
	}
	if _, status := introspect(t, p, opaque, "wrong"); status != 401 {
		t.Errorf("wrong client secret: status %d, want 401", status)
	}
	p.RevokeOpaqueToken(opaque)
	if body, _ := introspect(t, p, opaque, "test-secret"); body["active"] != false || len(body) != 1 {
		t.Errorf("revoked token: %v, want only active=false", body)
	}
	expired := p.MintOpaqueToken(t, AccessToken{Audience: "https://api", TTL: -time.Minute})
	if body, _ := introspect(t, p, expired, "test-secret"); body["active"] != false {
		t.Errorf("expired token: %v", body)
	}
	if p.IntrospectionRequests() != 4 {
		t.Errorf("IntrospectionRequests() = %d, want 4", p.IntrospectionRequests())
	}
}

func TestMintAccessTokenBindings(t *testing.T) {
	p := NewProvider(t, Config{})
	key := NewDPoPKey(t)
	cert := NewClientCertificate(t, "c")
	token := p.MintAccessToken(t, AccessToken{Audience: "https://api", DPoPKey: key, CertificateThumbprint: CertificateThumbprint(cert.Leaf.Raw)})
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ %v, want at+jwt", typ)
	}
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims)
	if claims.Cnf["jkt"] != key.Thumbprint() || claims.Cnf["x5t#S256"] == "" {
		t.Errorf("cnf %v", claims.Cnf)
	}
}

func TestDPoPProofShape(t *testing.T) {
	key := NewDPoPKey(t)
	proof := key.Proof(t, http.MethodPost, "https://api/x", "tok")
	jws, err := jose.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders[jose.HeaderType] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		t.Fatalf("header %+v", h)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	if c["htm"] != "POST" || c["htu"] != "https://api/x" || c["ath"] == nil || c["jti"] == nil {
		t.Errorf("claims %v", c)
	}
}
