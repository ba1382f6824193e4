package monocloud

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// FuzzVerifyLogoutToken: whatever arrives as a logout token, verification
// does not panic, answers a *TokenError for anything but a token the
// provider signed, and accepts a signed token only with its own claims.
func FuzzVerifyLogoutToken(f *testing.F) {
	app := newTestApp(f, monocloudtest.Config{}, Options{}, nil, nil)
	p, err := app.client.provider(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	valid := app.op.SignLogoutToken(f, map[string]any{
		"iss": app.op.Issuer(), "aud": "test-client", "iat": time.Now().Unix(), "jti": "seed",
		"sid": "sid-1", "events": map[string]any{backChannelLogoutEvent: map[string]any{}},
	})
	f.Add(valid)
	f.Add(valid[:len(valid)-3] + "AAA")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		lt, err := app.client.verifyLogoutToken(context.Background(), p, raw)
		if err != nil {
			if !errors.As(err, new(*TokenError)) {
				t.Fatalf("error %v (%T), want a *TokenError", err, err)
			}
			return
		}
		if raw != valid || lt.SessionID != "sid-1" || lt.TokenID != "seed" {
			t.Fatalf("accepted %q as %+v", raw, lt)
		}
	})
}
