package monocloud

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/monocloudtest"
)

// TestJWKSRefetchLimit checks that tokens signed with unknown keys, such as
// forged logout tokens posted by anyone, fetch the provider's JWKS at most
// once per provider.DefaultRefetchInterval, while known keys keep verifying and a key
// rotation is picked up.
func TestJWKSRefetchLimit(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	clock := newTkClock()
	app.client.now = clock.Now
	valid := func() string {
		return app.op.SignLogoutToken(t, validLogoutClaims(app, map[string]any{"sub": "nobody"}))
	}
	_, kid := providerKey(t, app.op)
	enc := base64.RawURLEncoding.EncodeToString
	forged := func(i int) string {
		k := fmt.Sprintf("forged-%d", i)
		if i%2 == 0 {
			k = kid // the provider's key ID, a bad signature
		}
		return enc(fmt.Appendf(nil, `{"alg":"RS256","kid":%q}`, k)) + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc([]byte("not a signature"))
	}
	fetches := func() int { return app.op.JWKSRequests() }
	post := func(token string, want int) {
		t.Helper()
		if got := backChannelLogoutStatus(app, token); got != want {
			t.Fatalf("logout token: %d, want %d", got, want)
		}
	}

	before := fetches()
	post(valid(), http.StatusOK) // the first token fetches the JWKS
	if n := fetches() - before; n != 1 {
		t.Fatalf("%d JWKS fetches for the first token, want 1", n)
	}
	before = fetches()
	for i := range 100 {
		post(forged(i), http.StatusBadRequest)
	}
	if n := fetches() - before; n != 0 {
		t.Errorf("100 forged tokens right after a fetch caused %d JWKS fetches, want 0", n)
	}

	clock.Advance(provider.DefaultRefetchInterval)
	before = fetches()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if got := backChannelLogoutStatus(app, forged(i)); got != http.StatusBadRequest {
				t.Errorf("forged token %d: %d, want 400", i, got)
			}
		})
	}
	wg.Wait()
	if n := fetches() - before; n != 1 {
		t.Errorf("100 concurrent forged tokens after the interval caused %d JWKS fetches, want 1", n)
	}
	before = fetches()
	post(valid(), http.StatusOK)
	if n := fetches() - before; n != 0 {
		t.Errorf("a token with a known key caused %d JWKS fetches", n)
	}

	// A key rotation: within the interval a token with the new key fails
	// fast; after it, concurrent tokens with the new key share one fetch.
	app.op.RotateKey(t)
	post(valid(), http.StatusBadRequest)
	clock.Advance(provider.DefaultRefetchInterval)
	before = fetches()
	for i := range 20 {
		wg.Go(func() {
			if got := backChannelLogoutStatus(app, valid()); got != http.StatusOK {
				t.Errorf("token %d with the rotated key: %d, want 200", i, got)
			}
		})
	}
	wg.Wait()
	if n := fetches() - before; n != 1 {
		t.Errorf("tokens with the rotated key caused %d JWKS fetches, want 1", n)
	}
}

// TestJWKSUnavailable checks that a JWKS the provider cannot serve is a 503
// (the provider retries the logout), not an invalid token, and that the
// next fetch after the interval recovers.
func TestJWKSUnavailable(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	clock := newTkClock()
	app.client.now = clock.Now
	app.op.SetJWKSFault(monocloudtest.Fault{Status: http.StatusBadGateway, Body: "down", ContentType: "text/plain"})
	token := app.op.SignLogoutToken(t, validLogoutClaims(app, nil))
	if got := backChannelLogoutStatus(app, token); got != http.StatusServiceUnavailable {
		t.Errorf("JWKS down: %d, want 503", got)
	}
	app.op.SetJWKSFault(monocloudtest.Fault{})
	clock.Advance(provider.DefaultRefetchInterval)
	if got := backChannelLogoutStatus(app, token); got != http.StatusOK {
		t.Errorf("JWKS back: %d, want 200", got)
	}
	if n := app.op.JWKSRequests(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
}

// TestJWKSForgedLogoutTokensDoNotHoldOffKeyRotation (F8): forged logout
// tokens with an unknown kid, posted by anyone to the back-channel route,
// used up the single refetch allowance, so that sign-ins signed with a
// rotated key failed for up to provider.DefaultRefetchInterval. ID tokens of token
// responses now refetch at once, whatever the back-channel route received.
func TestJWKSForgedLogoutTokensDoNotHoldOffKeyRotation(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	forged := enc([]byte(`{"alg":"RS256","kid":"attacker"}`)) + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc([]byte("sig"))
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	clock := app.useClock()
	app.signIn("") // the JWKS is fetched, the first key cached
	failed := 0
	for range 3 { // three rotations, each after an attacker's token
		clock.Advance(provider.DefaultRefetchInterval + time.Second)
		if code := backChannelLogoutStatus(app, forged); code != http.StatusBadRequest {
			t.Fatalf("forged logout token: %d, want 400", code)
		}
		clock.Advance(time.Second)
		app.op.RotateKey(t)
		for range 3 {
			app.newBrowser()
			if resp, _ := app.signInVia("/api/auth/signin"); resp.StatusCode != http.StatusTemporaryRedirect {
				failed++
			}
			clock.Advance(time.Second)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 9 sign-ins after a key rotation failed: forged logout tokens held off the JWKS refetch", failed)
	}
	// The attacker's tokens stay limited: one more right away fetches nothing.
	before := app.op.JWKSRequests()
	for range 10 {
		backChannelLogoutStatus(app, forged)
	}
	if n := app.op.JWKSRequests() - before; n != 0 {
		t.Errorf("10 forged logout tokens after the sign-ins fetched the JWKS %d times, want 0", n)
	}
}

// TestJWKSKeyRotationSecondSignIn is the OpenID conformance test
// rp-key-rotation-op-sign-key: a sign-in, then the provider rotates its
// signing key, then a second sign-in within provider.DefaultRefetchInterval of the
// first fetch. It must succeed, with one JWKS fetch.
func TestJWKSKeyRotationSecondSignIn(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	clock := app.useClock()
	app.signIn("")
	clock.Advance(2 * time.Second)
	app.op.RotateKey(t)
	before := app.op.JWKSRequests()
	app.newBrowser()
	if resp, body := app.signInVia("/api/auth/signin"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-in 2 s after a key rotation: status %d, want 307: %s", resp.StatusCode, body)
	}
	if n := app.op.JWKSRequests() - before; n != 1 {
		t.Errorf("the sign-in with the rotated key fetched the JWKS %d times, want 1", n)
	}
}
