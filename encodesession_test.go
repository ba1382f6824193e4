package monocloud

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEncodeSession(t *testing.T) {
	for _, mode := range storeModes {
		t.Run(mode.name+"/the cookies carry the session, created now", func(t *testing.T) {
			app := newSessionApp(t, Options{}, mode.store)
			in := sampleSession(0)
			cookies, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := app.getSession(cookies)
			if err != nil {
				t.Fatalf("the minted cookies hold no session: %v", err)
			}
			if s.User.Subject() != "user-1" || s.RefreshToken != "refresh-token" || len(s.AccessTokens) != 1 {
				t.Errorf("session read back = %+v, want the one encoded", s)
			}
			lt := app.lifetime(cookies)
			if lt.C != app.t0 || lt.E != app.t0+int64(24*time.Hour/time.Second) {
				t.Errorf("lifetime %+v, want created at %d, expiring a day later", lt, app.t0)
			}
			if ck := cookies[0]; !ck.HttpOnly || ck.Path != "/" || !ck.Secure || ck.Expires.Unix() != lt.E {
				t.Errorf("cookie attributes %+v, want those of a signed-in session", ck)
			}
			if mode.store && len(app.store.keys()) != 1 {
				t.Errorf("store holds %d sessions, want 1", len(app.store.keys()))
			}
		})
		t.Run(mode.name+"/each call starts a new session, and s is copied", func(t *testing.T) {
			app := newSessionApp(t, Options{}, mode.store)
			in := sampleSession(0)
			a, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			in.User["name"] = "changed after encoding"
			b, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if ka, kb := decodeSessionCookie(t, app.client, a).Key, decodeSessionCookie(t, app.client, b).Key; ka == kb {
				t.Errorf("two sessions share the key %q", ka)
			}
			if s, _, _ := app.getSession(a); s == nil || s.User["name"] != "Ada" {
				t.Errorf("first session = %+v, want the user as it was when encoded", s)
			}
		})
	}

	t.Run("a large session is chunked, and served whole", func(t *testing.T) {
		app := newSessionApp(t, Options{}, false)
		in := sampleSession(6000)
		cookies, err := app.client.EncodeSession(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(cookies) < 2 || cookies[0].Name != "session.0" {
			t.Fatalf("cookies %v, want chunks session.0, session.1, …", cookieNames(cookies))
		}
		if s, _, err := app.getSession(cookies); err != nil || s.Extra["data"] != in.Extra["data"] {
			t.Errorf("chunked session read back: %v, want the data encoded", err)
		}
	})

	t.Run("a protected handler serves the minted session", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, build: func(c *Client) http.Handler {
			return c.ProtectAPI(&ProtectOptions{GroupCheck: GroupCheck{Groups: []string{"staff"}}})(okHandler)
		}})
		member := mintSession(t, app.client, &Session{User: User{"sub": "u", "groups": []any{"staff"}}})
		other := mintSession(t, app.client, &Session{User: User{"sub": "v", "groups": []any{"guests"}}})
		for _, tc := range []struct {
			name    string
			cookies []*http.Cookie
			want    int
		}{{"member", member, 200}, {"not a member", other, 403}, {"no session", nil, 401}} {
			if w := app.serve(http.MethodGet, "/api/orders", tc.cookies...); w.Code != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
			}
		}
	})

	t.Run("refuses a session without a user sub", func(t *testing.T) {
		app := newSessionApp(t, Options{}, true)
		for name, s := range map[string]*Session{
			"nil":            nil,
			"no user":        {},
			"no sub":         {User: User{"name": "Ada"}},
			"sub not string": {User: User{"sub": 42}},
		} {
			cookies, err := app.client.EncodeSession(context.Background(), s)
			var ve *ValidationError
			if !errors.As(err, &ve) || cookies != nil || !strings.Contains(err.Error(), "sub") {
				t.Errorf("%s: %v, %v; want a *ValidationError naming sub", name, cookies, err)
			}
		}
		if n := len(app.store.keys()); n != 0 {
			t.Errorf("store holds %d sessions after refusals, want 0", n)
		}
	})

	t.Run("a store failure is a *StoreError", func(t *testing.T) {
		app := newSessionApp(t, Options{}, true)
		app.store.down.Store(true)
		_, err := app.client.EncodeSession(context.Background(), sampleSession(0))
		var se *StoreError
		if !errors.As(err, &se) || !errors.Is(err, errStoreDown) {
			t.Errorf("err = %v, want a *StoreError wrapping the store's error", err)
		}
	})
}
