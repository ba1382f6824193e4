package e2e

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/e2e/realop"
	quickstart "github.com/monocloud/auth-go/examples/quickstart/app"
)

// TestBrowserSignIn runs e2e/browser/signin.mjs: a real Chromium signs in to
// the quickstart app at the real oidc-provider, checks the protected and
// tokens pages, the admin page (a 403 page outside the admin group), the
// session cookie's attributes, a session large enough to be split into
// several cookies, two tabs signing in at once, the orders page calling the
// app's API with the user's token, the refresh confirmation, sign-out of
// the app only (signed back in silently) and sign-out everywhere.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	chromium := browserChromium(t)
	dir := browserDir(t)
	browserEnsureNodeModules(t, dir)

	app := browserNewServer(t) // the quickstart app
	big := browserNewServer(t) // the same app, with ~6 KB of extra session data
	apps := []struct {
		srv      *browserServer
		id       string
		secret   string
		creating func(context.Context, *monocloud.Session, map[string]any, map[string]any, map[string]any) error
	}{
		{srv: app, id: "browser-app", secret: browserRandom(t, 24)},
		{srv: big, id: "browser-big", secret: browserRandom(t, 24), creating: browserPadSession(browserRandom(t, 3*1024))},
	}

	var clients []realop.Client
	for _, a := range apps {
		clients = append(clients, realop.Client{
			ID:                     a.id,
			Secret:                 a.secret,
			RedirectURIs:           []string{a.srv.url() + "/api/auth/callback"},
			PostLogoutRedirectURIs: []string{a.srv.url()},
		})
	}
	op := realop.Start(t, realop.Config{
		Clients: clients,
		// Well beyond GetTokens' 30s expiry margin: the pages show unexpired
		// tokens, and only "force refresh" refreshes.
		AccessTokenTTL: 2 * time.Minute,
	})

	var resources []monocloud.Indicator
	for _, r := range realop.DefaultResources {
		resources = append(resources, monocloud.Indicator{Resource: r.URL, Scopes: r.Scope})
	}
	// Each app serves an API for the first resource at /api/orders.
	validator, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: resources[0].Resource})
	if err != nil {
		t.Fatalf("backend.New: %v", err)
	}
	api := &quickstart.API{Client: validator, Resource: resources[0].Resource}
	for _, a := range apps {
		client, err := monocloud.New(monocloud.Options{
			TenantDomain:      op.Issuer(),
			ClientID:          a.id,
			ClientSecret:      a.secret,
			AppURL:            a.srv.url(),
			CookieSecret:      browserRandom(t, 32),
			Resources:         resources,
			OnSessionCreating: a.creating,
			Logger:            slog.New(slog.NewTextHandler(t.Output(), nil)),
		})
		if err != nil {
			t.Fatalf("monocloud.New for %s: %v", a.id, err)
		}
		h, err := quickstart.New(client, api)
		if err != nil {
			t.Fatalf("quickstart.New for %s: %v", a.id, err)
		}
		a.srv.serve(h)
	}

	browserRunScript(t, dir, "signin.mjs",
		"APP_URL="+app.url(),
		"BIG_APP_URL="+big.url(),
		"RESOURCES="+browserResourcesEnv(realop.DefaultResources),
		"CHROMIUM="+chromium,
		"LOGIN=alice",
	)

	// The provider's view: four sign-outs (alice twice and admin at the
	// app, one at the big app; the app-only one never reaches it), and no
	// token request failed.
	op.WaitCount(t, "end_session.success", "", 4, 5*time.Second)
	var failures []string
	for _, ev := range op.Events() {
		if ev.Event == "server_error" || ev.Event == "grant.error" {
			failures = append(failures, ev.Raw)
		}
	}
	if len(failures) > 0 {
		t.Errorf("provider logged failures:\n%s", strings.Join(failures, "\n"))
	}
}

// browserPadSession returns an OnSessionCreating hook that stores padding in
// the session's Extra data, making the session cookie too large for one
// cookie.
func browserPadSession(padding string) func(context.Context, *monocloud.Session, map[string]any, map[string]any, map[string]any) error {
	return func(_ context.Context, s *monocloud.Session, _, _, _ map[string]any) error {
		if s.Extra == nil {
			s.Extra = map[string]any{}
		}
		s.Extra["padding"] = padding
		return nil
	}
}
