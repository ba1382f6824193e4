package monocloud

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/monocloud/auth-go/monocloudtest"
)

// ltLog is a log sink safe for concurrent use.
type ltLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *ltLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *ltLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ltPost serves a back-channel logout request with token and returns the status.
func ltPost(app *testApp, token string) int {
	r := httptest.NewRequest(http.MethodPost, app.url("/api/auth/backchannel-logout"), strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, r)
	return w.Code
}

// ltSign signs claims with key under alg, with the given kid and typ headers.
func ltSign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid, typ string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ltProviderKey returns the provider's current public key and key ID.
func ltProviderKey(t *testing.T, op *monocloudtest.Provider) (*rsa.PublicKey, string) {
	t.Helper()
	resp, err := op.Client().Get(op.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v, %d keys", err, len(set.Keys))
	}
	return set.Keys[0].Key.(*rsa.PublicKey), set.Keys[0].KeyID
}

// TestVerifyLogoutToken covers each check of a logout token with a token
// that fails exactly it, and the tokens without exp that some providers
// send (Ory Hydra: aud, events, iat, iss, jti, sid; typ JWT).
func TestVerifyLogoutToken(t *testing.T) {
	log := &ltLog{}
	app := newTestApp(t, hdClaims, Options{Logger: slog.New(slog.NewTextHandler(log, nil))}, nil, nil)
	pub, kid := ltProviderKey(t, app.op)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(overrides map[string]any) map[string]any { return hdLogoutClaims(app, overrides) }
	// hydra is a token as Ory Hydra 2.3 sends it.
	hydra := func(overrides map[string]any) map[string]any {
		c := map[string]any{
			"iss": app.op.Issuer(), "aud": []string{"test-client"}, "iat": now.Unix(), "jti": rand.Text(), "sid": "sid-1",
			"events": map[string]any{backChannelLogoutEvent: map[string]any{}},
		}
		for k, v := range overrides {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	signed := func(c map[string]any) string { return app.op.SignLogoutToken(t, c) }
	enc := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"valid", signed(claims(nil)), http.StatusOK},
		{"valid, sid only", signed(claims(map[string]any{"sub": nil, "sid": "s"})), http.StatusOK},
		{"valid, aud an array holding the client", signed(claims(map[string]any{"aud": []string{"other", "test-client"}})), http.StatusOK},
		{"valid, typ JWT", app.op.SignJWT(t, "JWT", claims(nil)), http.StatusOK},
		{"valid, no typ", app.op.SignJWT(t, "", claims(nil)), http.StatusOK},
		{"valid, expired within the clock skew", signed(claims(map[string]any{"exp": now.Add(-30 * time.Second).Unix()})), http.StatusOK},
		{"Hydra: no exp, typ JWT", app.op.SignJWT(t, "JWT", hydra(nil)), http.StatusOK},
		{"no exp, iat 4 minutes ago", signed(hydra(map[string]any{"iat": now.Add(-4 * time.Minute).Unix()})), http.StatusOK},

		{"not a JWT", "garbage", http.StatusBadRequest},
		{"alg none", enc([]byte(`{"alg":"none"}`)) + "." + enc(must(json.Marshal(claims(nil)))) + ".", http.StatusBadRequest},
		{"HS256 keyed with the provider's public key", ltSign(t, jose.HS256, pemKey, kid, "logout+jwt", claims(nil)), http.StatusBadRequest},
		{"another key under the provider's kid", ltSign(t, jose.RS256, attacker, kid, "logout+jwt", claims(nil)), http.StatusBadRequest},
		{"another algorithm (RS384)", ltSign(t, jose.RS384, attacker, kid, "logout+jwt", claims(nil)), http.StatusBadRequest},
		{"typ of an access token", app.op.SignJWT(t, "at+jwt", claims(nil)), http.StatusBadRequest},
		{"another issuer", signed(claims(map[string]any{"iss": "https://evil.example.com"})), http.StatusBadRequest},
		{"another audience", signed(claims(map[string]any{"aud": "other-client"})), http.StatusBadRequest},
		{"aud an array without the client", signed(claims(map[string]any{"aud": []string{"other"}})), http.StatusBadRequest},
		{"no iat", signed(claims(map[string]any{"iat": nil})), http.StatusBadRequest},
		{"iat in the future", signed(claims(map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), http.StatusBadRequest},
		{"expired", signed(claims(map[string]any{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-5 * time.Minute).Unix()})), http.StatusBadRequest},
		{"no exp, iat 6 minutes ago", signed(hydra(map[string]any{"iat": now.Add(-6 * time.Minute).Unix()})), http.StatusBadRequest},
		{"no exp, no iat", signed(hydra(map[string]any{"iat": nil})), http.StatusBadRequest},
		{"no jti", signed(claims(map[string]any{"jti": nil})), http.StatusBadRequest},
		{"no events", signed(claims(map[string]any{"events": nil})), http.StatusBadRequest},
		{"events not an object", signed(claims(map[string]any{"events": 1})), http.StatusBadRequest},
		{"another event", signed(claims(map[string]any{"events": map[string]any{"other": map[string]any{}}})), http.StatusBadRequest},
		{"the event not an object", signed(claims(map[string]any{"events": map[string]any{backChannelLogoutEvent: "yes"}})), http.StatusBadRequest},
		{"nonce (an ID token)", signed(claims(map[string]any{"nonce": "n"})), http.StatusBadRequest},
		{"neither sub nor sid", signed(claims(map[string]any{"sub": nil})), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ltPost(app, tt.token); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("a token without exp is logged", func(t *testing.T) {
		if !strings.Contains(log.String(), "level=WARN msg=\"monocloud: accepted a logout token without exp") {
			t.Errorf("no warning logged for a token without exp:\n%s", log)
		}
	})
	t.Run("a token without exp is refused when replayed", func(t *testing.T) {
		token := app.op.SignJWT(t, "JWT", hydra(nil))
		if first, second := ltPost(app, token), ltPost(app, token); first != http.StatusOK || second != http.StatusBadRequest {
			t.Errorf("first %d, replay %d, want 200 then 400", first, second)
		}
	})
	t.Run("a token without exp ends the session", func(t *testing.T) {
		app := newTestApp(t, hdClaims, Options{}, nil, nil) // no logout of user-1 on record
		app.signInVia("/api/auth/signin")
		s := app.session()
		if s == nil {
			t.Fatal("no session")
		}
		sid, _ := s.User["sid"].(string)
		claims := hydra(map[string]any{"sid": sid, "iss": app.op.Issuer()})
		if code := ltPost(app, app.op.SignJWT(t, "JWT", claims)); code != http.StatusOK {
			t.Fatalf("logout: %d", code)
		}
		if resp, _ := app.get("/api/auth/userinfo"); resp.StatusCode != http.StatusNoContent {
			t.Errorf("userinfo after the logout: %d, want 204", resp.StatusCode)
		}
	})
}

// must returns v, panicking on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
