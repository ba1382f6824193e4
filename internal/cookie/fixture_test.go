package cookie

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/wire"
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
	User             map[string]any    `json:"user"` // of a testUser`
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

// testBlob is a value whose binary encoding is its bytes.
type testBlob []byte

func (b testBlob) MarshalBinary() ([]byte, error) { return b, nil }

func (b *testBlob) UnmarshalBinary(p []byte) error {
	*b = bytes.Clone(p)
	return nil
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
			User: map[string]any{
				"sub": user.Sub, "name": user.Name, "email": user.Email, "email_verified": user.EmailVerified,
				"picture": user.Picture, "groups": []any{user.Groups[0], user.Groups[1], user.Groups[2]},
			},
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

// MarshalBinary encodes s as the root package's sessionCookie is, so that
// sizes and timings measured here are a real session's.
func (s *testSession) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Byte(1)
	w.Token(s.Key)
	w.Varint(s.Lifetime.Created)
	w.Varint(s.Lifetime.Updated)
	w.Varint(s.Lifetime.Expires)
	w.Str("")
	w.Bool(true)
	d := s.Session
	w.Map(d.User)
	w.Token(d.IDToken)
	w.Token(d.RefreshToken)
	w.Str(d.AuthorizedScopes)
	w.Str("")
	w.Uvarint(uint64(len(d.AccessTokens)))
	for _, t := range d.AccessTokens {
		w.Token(t.AccessToken)
		w.Varint(t.AccessTokenExpiration)
		w.Str(t.Scopes)
		w.Str(t.Resource)
		w.Str(t.RequestedScopes)
	}
	w.Map(nil)
	return w.Bytes()
}

// UnmarshalBinary decodes what MarshalBinary encoded, as the root package's
// sessionCookie does.
func (s *testSession) UnmarshalBinary(p []byte) error {
	r := wire.NewReader(p)
	if r.Byte() != 1 {
		return errors.New("unknown version")
	}
	var v testSession
	v.Key = r.Token()
	v.Lifetime = testLifetime{Created: r.Varint(), Updated: r.Varint(), Expires: r.Varint()}
	if r.Str() != "" || !r.Bool() {
		return errors.New("unexpected version or no session")
	}
	v.Session.User = r.Map()
	v.Session.IDToken = r.Token()
	v.Session.RefreshToken = r.Token()
	v.Session.AuthorizedScopes = r.Str()
	_ = r.Str()
	v.Session.AccessTokens = make([]testAccessToken, r.Count(6))
	for i := range v.Session.AccessTokens {
		v.Session.AccessTokens[i] = testAccessToken{
			AccessToken:           r.Token(),
			AccessTokenExpiration: r.Varint(),
			Scopes:                r.Str(),
			Resource:              r.Str(),
			RequestedScopes:       r.Str(),
		}
	}
	_ = r.Map()
	if err := r.Done(); err != nil {
		return err
	}
	*s = v
	return nil
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
