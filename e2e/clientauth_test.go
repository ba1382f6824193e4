package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	monocloud "github.com/monocloud/auth-go"
)

// TestFlowClientAssertion signs in (code exchange) and forces a refresh
// with each client assertion method against the real provider, which only
// accepts the method the client is registered with.
func TestFlowClientAssertion(t *testing.T) {
	t.Parallel()
	rsaKey := flowRSAKey(t)
	ecKey := flowECKey(t)
	signer := flowECKey(t)
	cases := []struct {
		name string
		cfg  flowConfig
	}{
		{"client_secret_jwt", flowConfig{AuthMethod: "client_secret_jwt"}},
		{"private_key_jwt/RSA JWK", flowConfig{
			AuthMethod:   "private_key_jwt",
			JWKS:         flowPublicJWKS(t, rsaKey, "rsa-1", "RS256"),
			ClientSecret: flowPrivateJWK(t, rsaKey, "rsa-1", "RS256"),
		}},
		{"private_key_jwt/P-256 JWK", flowConfig{
			AuthMethod:   "private_key_jwt",
			JWKS:         flowPublicJWKS(t, ecKey, "ec-1", "ES256"),
			ClientSecret: flowPrivateJWK(t, ecKey, "ec-1", "ES256"),
		}},
		{"private_key_jwt/ClientAssertionKey", flowConfig{
			JWKS:               flowPublicJWKS(t, signer, "kms-1", "ES256"),
			AuthMethod:         "private_key_jwt",
			ClientAssertionKey: &monocloud.ClientAssertionKey{Signer: signer, KeyID: "kms-1", Algorithm: "ES256"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := flowStart(t, tc.cfg)
			browser := flowBrowser(t)
			app.signIn(t, browser, "alice", "/protected")
			app.op.WaitCount(t, "grant.success", "authorization_code", 1, 5*time.Second)

			first, _ := app.tokens(t, browser, nil)
			forced, _ := app.tokens(t, browser, url.Values{"force": {"1"}})
			if forced.AccessToken == "" || forced.AccessToken == first.AccessToken || forced.RefreshToken == first.RefreshToken {
				t.Errorf("ForceRefresh: %+v, want new access and refresh tokens (were %q, %q)", forced, first.AccessToken, first.RefreshToken)
			}
			app.op.WaitCount(t, "grant.success", "refresh_token", 1, 5*time.Second)
			if n := app.op.Count("grant.error", ""); n != 0 {
				t.Errorf("provider logged %d grant errors: %s", n, flowEvents(app.op))
			}
		})
	}
}

// TestFlowClientAssertionWrongKey signs assertions with a key other than
// the one registered under their kid: the provider refuses the code
// exchange with invalid_client and the callback creates no session.
func TestFlowClientAssertionWrongKey(t *testing.T) {
	t.Parallel()
	registered, other := flowRSAKey(t), flowRSAKey(t)
	var (
		mu      sync.Mutex
		errs    []error
		onError = func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			http.Error(w, "sign-in failed", http.StatusBadRequest)
		}
	)
	app := flowStart(t, flowConfig{
		AuthMethod:   "private_key_jwt",
		JWKS:         flowPublicJWKS(t, registered, "rsa-1", "RS256"),
		ClientSecret: flowPrivateJWK(t, other, "rsa-1", "RS256"),
		OnError:      onError,
	})
	browser := flowBrowser(t)
	resp := app.op.SignIn(t, browser, app.url+"/api/auth/signin?return_url=/protected", "alice")
	resp.Body.Close()
	if resp.Request.URL.Path != "/api/auth/callback" || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback with a wrongly signed assertion: %s from %s, want 400 from the callback", resp.Status, resp.Request.URL.Path)
	}
	mu.Lock()
	defer mu.Unlock()
	var oe *monocloud.OPError
	if len(errs) != 1 || !errors.As(errs[0], &oe) || oe.Code != "invalid_client" {
		t.Errorf("callback errors = %v, want one *OPError invalid_client", errs)
	}
	if ck := app.sessionCookie(browser); ck != "" {
		t.Errorf("failed callback left a session cookie")
	}
	if resp := app.get(t, browser, "/api/session"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/session after the refused sign-in: %s, want 401", resp.Status)
	}
	if n := app.op.Count("grant.success", "authorization_code"); n != 0 {
		t.Errorf("provider granted %d codes to a wrongly signed assertion", n)
	}
}

func flowRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func flowECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// flowPrivateJWK is key as a private JWK with kid and alg, the form
// Options.ClientSecret takes for private_key_jwt.
func flowPrivateJWK(t *testing.T, key crypto.Signer, kid, alg string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// flowPublicJWKS is a JWK Set holding key's public key, for the client's
// registration.
func flowPublicJWKS(t *testing.T, key crypto.Signer, kid, alg string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
