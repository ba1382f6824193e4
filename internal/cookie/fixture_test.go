package cookie

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testSession has the shape of the session the SDK stores.
type testSession struct {
	Key      string          `json:"key"`
	Lifetime testLifetime    `json:"lifetime"`
	Session  testSessionData `json:"session"`
}

type testLifetime struct {
	Created int64 `json:"c"`
	Updated int64 `json:"u"`
	Expires int64 `json:"e"`
}

type testSessionData struct {
	User             testUser          `json:"user"`
	IDToken          string            `json:"idToken"`
	RefreshToken     string            `json:"refreshToken"`
	AuthorizedScopes string            `json:"authorizedScopes"`
	AccessTokens     []testAccessToken `json:"accessTokens"`
}

type testUser struct {
	Sub           string   `json:"sub"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Picture       string   `json:"picture"`
	Groups        []string `json:"groups"`
}

type testAccessToken struct {
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiration int64  `json:"accessTokenExpiration"`
	Scopes                string `json:"scopes"`
	Resource              string `json:"resource"`
	RequestedScopes       string `json:"requestedScopes"`
}

// signingKey is generated once per test binary; generating it is slow.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newSession returns a realistic session, with fresh random identifiers
// and tokens really signed with RS256, and its JSON encoding.
func newSession(tb testing.TB) (testSession, []byte) {
	tb.Helper()
	now := time.Now().Unix()
	user := testUser{
		Sub:           randomUUID(tb),
		Name:          "Jane Doe",
		Email:         "jane.doe@example.com",
		EmailVerified: true,
		Picture:       "https://cdn.example.com/avatars/" + randomUUID(tb) + ".png",
		Groups:        []string{"admin", "engineering", "beta-testers"},
	}
	const (
		issuer   = "https://acme-corp.us.monocloud.com"
		clientID = "0e6f3c1a-5b7d-4c2e-9f8a-1d2b3c4d5e6f"
		scopes   = "openid profile email offline_access read:api"
	)
	idToken := signJWT(tb, map[string]any{
		"iss": issuer, "aud": clientID, "exp": now + 3600, "iat": now,
		"auth_time": now - 5, "nonce": randomString(tb, 16), "sid": randomUUID(tb),
		"sub": user.Sub, "name": user.Name, "email": user.Email,
		"email_verified": user.EmailVerified, "picture": user.Picture, "groups": user.Groups,
	})
	accessToken := signJWT(tb, map[string]any{
		"iss": issuer, "aud": "https://api.example.com", "sub": user.Sub,
		"client_id": clientID, "exp": now + 3600, "iat": now, "nbf": now,
		"jti": randomUUID(tb), "scope": "openid profile email read:api",
		"sid": randomUUID(tb), "email": user.Email,
	})
	s := testSession{
		Key:      randomUUID(tb),
		Lifetime: testLifetime{Created: now, Updated: now, Expires: now + 7*24*3600},
		Session: testSessionData{
			User:             user,
			IDToken:          idToken,
			RefreshToken:     randomString(tb, 90), // 120 characters
			AuthorizedScopes: scopes,
			AccessTokens: []testAccessToken{{
				AccessToken:           accessToken,
				AccessTokenExpiration: now + 3600,
				Scopes:                "openid profile email read:api",
				Resource:              "https://api.example.com",
				RequestedScopes:       scopes,
			}},
		},
	}
	js, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return s, js
}

func signJWT(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k1-2024-06-rsa","typ":"JWT"}`)) +
		"." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, signingKey(), crypto.SHA256, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func randomUUID(tb testing.TB) string {
	b := randomBytes(tb, 16)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// randomString returns n random bytes in base64url.
func randomString(tb testing.TB, n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(tb, n))
}

func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSessionFixture(t *testing.T) {
	s, js := newSession(t)
	t.Logf("JSON %d bytes, ID token %d, access token %d, refresh token %d",
		len(js), len(s.Session.IDToken), len(s.Session.AccessTokens[0].AccessToken), len(s.Session.RefreshToken))
	for _, tc := range []struct {
		name     string
		got      int
		min, max int
	}{
		{"ID token", len(s.Session.IDToken), 900, 1050},
		{"access token", len(s.Session.AccessTokens[0].AccessToken), 800, 1000},
		{"refresh token", len(s.Session.RefreshToken), 120, 120},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s is %d characters, want %d to %d", tc.name, tc.got, tc.min, tc.max)
		}
	}
}
