package monocloud

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/monocloudtest"
)

// readyStatus serves c's ReadyHandler and returns the recorder.
func readyStatus(c *Client) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	c.ReadyHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return w
}

// wantNotReady checks that w is ReadyHandler's 503 naming reason.
func wantNotReady(t *testing.T, w *httptest.ResponseRecorder, reason string) {
	t.Helper()
	var body struct{ Status, Reason string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("ReadyHandler: %d %q (Retry-After %q), want 503 with Retry-After and JSON", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	if body.Status != "unavailable" || !strings.Contains(body.Reason, reason) {
		t.Errorf("ReadyHandler body %+v, want status unavailable naming %q", body, reason)
	}
}

func TestReady(t *testing.T) {
	t.Run("ready once the provider and its keys are fetched", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		before := app.op.JWKSRequests()
		if err := app.client.Ready(t.Context()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if n := app.op.JWKSRequests() - before; n != 1 {
			t.Errorf("Ready fetched the keys %d times, want 1", n)
		}
		if w := readyStatus(app.client); w.Code != http.StatusOK || w.Body.String() != "ok" {
			t.Errorf("ReadyHandler: %d %q, want 200 ok", w.Code, w.Body)
		}
	})

	t.Run("not ready while the provider is down", func(t *testing.T) {
		app, clock := pvNewAppDown(t, pvDown, Options{})
		if err := app.client.Ready(t.Context()); !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("Ready: %v, want ErrProviderUnavailable", err)
		}
		wantNotReady(t, readyStatus(app.client), "provider")
		app.op.SetDiscoveryFault(monocloudtest.Fault{})
		clock.Advance(provider.MaxBackoff)
		if err := app.client.Ready(t.Context()); err != nil {
			t.Errorf("Ready once up: %v", err)
		}
	})

	t.Run("not ready while the keys cannot be fetched", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		app.op.SetJWKSFault(pvDown)
		if err := app.client.Ready(t.Context()); !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("Ready: %v, want ErrProviderUnavailable", err)
		}
	})

	t.Run("not ready until the coordinator's ended sessions are loaded", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		app.client.ended.loaded = make(chan struct{}) // as New makes it with a Coordinator
		var se *StoreError
		if err := app.client.Ready(t.Context()); !errors.As(err, &se) || !errors.Is(err, errEndedNotLoaded) {
			t.Errorf("Ready: %v, want a *StoreError for the ended sessions", err)
		}
		wantNotReady(t, readyStatus(app.client), "ended sessions")
		app.client.ended.markLoaded()
		if err := app.client.Ready(t.Context()); err != nil {
			t.Errorf("Ready once loaded: %v", err)
		}
	})

	t.Run("not ready while the session store fails", func(t *testing.T) {
		down := errors.New("store down")
		store := &fakeStore{}
		store.setDown(down)
		app := newTestApp(t, appConfig{opcfg: adaClaims, store: store})
		if err := app.client.Ready(t.Context()); !errors.Is(err, down) || !errors.As(err, new(*StoreError)) {
			t.Errorf("Ready: %v, want a *StoreError wrapping the store's", err)
		}
		wantNotReady(t, readyStatus(app.client), "session store")
	})
}

// closedPortIssuer returns an http issuer on a loopback port nothing
// listens on.
func closedPortIssuer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

func TestNewRequireProvider(t *testing.T) {
	opts := Options{TenantDomain: closedPortIssuer(t), ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret, RequireProvider: new(true)}
	if _, err := New(opts); !errors.Is(err, ErrProviderUnavailable) {
		t.Errorf("New with RequireProvider and the provider down: %v, want ErrProviderUnavailable", err)
	}
	t.Setenv("MONOCLOUD_AUTH_REQUIRE_PROVIDER", "true")
	opts.RequireProvider = nil
	if _, err := New(opts); !errors.Is(err, ErrProviderUnavailable) {
		t.Errorf("New with MONOCLOUD_AUTH_REQUIRE_PROVIDER=true and the provider down: %v, want ErrProviderUnavailable", err)
	}
	op := monocloudtest.NewProvider(t, adaClaims)
	opts.TenantDomain = op.Issuer()
	opts.ClientID, opts.ClientSecret = "test-client", "test-secret"
	if _, err := New(opts); err != nil {
		t.Errorf("New with RequireProvider and the provider up: %v", err)
	}
}

func TestDiscoveryLogsTheIssuerOnce(t *testing.T) {
	logs := &logRecorder{discovery: true}
	app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{Logger: slog.New(logs)}})
	for range 3 {
		if err := app.client.Ready(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.recs) != 1 || logs.recs[0].Message != "monocloud: provider discovered" || logs.recs[0].Level != slog.LevelInfo || attrsOf(logs.recs[0])["issuer"] != app.op.Issuer() {
		t.Errorf("logs %s: want one Info line naming the issuer", logs.text.String())
	}
}

func TestDiscoveryNamesLikelyMisconfiguration(t *testing.T) {
	t.Run("a host that does not exist", func(t *testing.T) {
		err := opError(&provider.Error{Kind: provider.Unavailable, Op: "discovery", Message: "fetching", Hint: `the host "tenant.example.invalid" does not exist`})
		for _, want := range []string{"tenant.example.invalid", "does not exist", "MONOCLOUD_AUTH_TENANT_DOMAIN"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
	})

	t.Run("https against an http provider", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		issuer := "https://" + strings.TrimPrefix(srv.URL, "http://")
		logs := &logRecorder{}
		_, err := New(Options{TenantDomain: issuer, ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret, Logger: slog.New(logs)})
		if err != nil {
			t.Fatalf("New: %v, want the provider retried later", err)
		}
		for _, want := range []string{`"level":"WARN"`, "http:// rather than https://", "likely misconfiguration", "MONOCLOUD_AUTH_TENANT_DOMAIN"} {
			if !strings.Contains(logs.logged(), want) {
				t.Errorf("warning %q does not name %q", logs.logged(), want)
			}
		}
	})

	t.Run("http against an https provider", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		issuer := "http://" + strings.TrimPrefix(srv.URL, "https://")
		_, err := New(Options{TenantDomain: issuer, ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "TenantDomain" {
			t.Fatalf("New: %v, want a *ValidationError for TenantDomain", err)
		}
		for _, want := range []string{"https:// rather than http://", "likely misconfiguration", "MONOCLOUD_AUTH_TENANT_DOMAIN"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("New: %q does not name %q", err, want)
			}
		}
	})
}
