package monocloud

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestRevokeTokensOnSignOut(t *testing.T) {
	on, off := true, false
	// signOut signs in, signs out and returns the refresh token the session
	// had. The sign-out must redirect and end the session.
	signOut := func(t *testing.T, app *testApp) string {
		t.Helper()
		app.signIn("")
		s := app.session()
		if s == nil || s.RefreshToken == "" {
			t.Fatalf("session after sign-in: %+v", s)
		}
		resp, _ := app.get("/api/auth/signout")
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-out: status %d", resp.StatusCode)
		}
		if app.session() != nil {
			t.Fatal("session survives sign-out")
		}
		return s.RefreshToken
	}
	// refresh presents rt at the provider's token endpoint.
	refresh := func(t *testing.T, app *testApp, rt string) error {
		t.Helper()
		p, err := app.client.provider(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.tokens.Refresh(context.Background(), p.tokenURL, rt, nil, "")
		return err
	}

	t.Run("on: the provider refuses the old refresh token", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RevokeTokensOnSignOut: &on}})
		rt := signOut(t, app)
		var oe *OPError
		if err := refresh(t, app, rt); !errors.As(opError(err), &oe) || oe.Code != "invalid_grant" {
			t.Errorf("refresh after sign-out: %v, want invalid_grant", err)
		}
	})

	t.Run("on by env", func(t *testing.T) {
		t.Setenv("MONOCLOUD_AUTH_REVOKE_TOKENS_ON_SIGNOUT", "true")
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		if err := refresh(t, app, signOut(t, app)); err == nil {
			t.Error("refresh after sign-out succeeded; want the token revoked")
		}
	})

	t.Run("off: nothing is revoked", func(t *testing.T) {
		for _, opt := range []*bool{nil, &off} {
			app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RevokeTokensOnSignOut: opt}})
			if err := refresh(t, app, signOut(t, app)); err != nil {
				t.Errorf("RevokeTokensOnSignOut %v: refresh after sign-out: %v, want the token still valid", opt, err)
			}
		}
	})

	t.Run("a failed revocation is logged and does not block the sign-out", func(t *testing.T) {
		op := monocloudtest.NewProvider(t, adaClaims)
		tr := &fakeTransport{next: op.Client().Transport}
		tr.failPath("/revoke", http.StatusInternalServerError)
		log := &logRecorder{}
		app := newTestApp(t, appConfig{op: op, opcfg: adaClaims, opts: Options{
			RevokeTokensOnSignOut: &on,
			HTTPClient:            &http.Client{Transport: tr},
			Logger:                slog.New(log),
		}})
		rt := signOut(t, app)
		log.expectEvent(t, EventProviderError, "monocloud: provider call failed", slog.LevelWarn, map[string]string{"op": "revoking the tokens at sign-out"})
		if strings.Contains(log.logged(), rt) {
			t.Error("the log holds the refresh token")
		}
		if err := refresh(t, app, rt); err != nil {
			t.Errorf("refresh: %v; want the token still valid, as revocation failed", err)
		}
	})

	t.Run("a provider without a revocation endpoint is skipped", func(t *testing.T) {
		log := &logRecorder{} // leaves out New's Info line of the discovery
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{RevokeTokensOnSignOut: &on, Logger: slog.New(log)}})
		p, err := app.client.provider(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.revocationURL = ""
		signOut(t, app)
		if logged := log.logged(); logged != "" {
			t.Errorf("log %q, want nothing", logged)
		}
		if err := app.client.RevokeTokens(context.Background(), &Session{RefreshToken: "rt"}); !errors.Is(err, ErrNoRevocationEndpoint) {
			t.Errorf("RevokeTokens: %v, want ErrNoRevocationEndpoint", err)
		}
	})
}

func TestRevokeTokens(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	app.signIn("")
	s := app.session()
	if s == nil || s.RefreshToken == "" || len(s.AccessTokens) == 0 {
		t.Fatalf("session after sign-in: %+v", s)
	}
	if err := app.client.RevokeTokens(context.Background(), s); err != nil {
		t.Fatalf("RevokeTokens: %v", err)
	}
	// The access token is refused by userinfo, the refresh token by the
	// token endpoint.
	p, err := app.client.provider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.tokens.Refresh(context.Background(), p.tokenURL, s.RefreshToken, nil, ""); err == nil {
		t.Error("refresh with the revoked refresh token succeeded")
	}
	req, _ := http.NewRequest(http.MethodGet, p.userInfoURL, nil)
	req.Header.Set("Authorization", "Bearer "+s.AccessTokens[0].AccessToken)
	resp, err := app.op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with the revoked access token: %d, want 401", resp.StatusCode)
	}

	t.Run("a failure is returned", func(t *testing.T) {
		op := monocloudtest.NewProvider(t, adaClaims)
		tr := &fakeTransport{next: op.Client().Transport}
		tr.failPath("/revoke", http.StatusInternalServerError)
		app := newTestApp(t, appConfig{op: op, opcfg: adaClaims, opts: Options{HTTPClient: &http.Client{Transport: tr}}})
		var he *HTTPError
		if err := app.client.RevokeTokens(context.Background(), &Session{RefreshToken: "rt", AccessTokens: []AccessToken{{AccessToken: "at"}}}); !errors.As(err, &he) || he.StatusCode != 500 {
			t.Errorf("RevokeTokens: %v, want an *HTTPError with status 500", err)
		}
	})
}
