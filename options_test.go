package monocloud

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	newClient := func(t *testing.T, o Options, env map[string]string) *Client {
		t.Helper()
		clearEnv(t)
		setEnv(t, env)
		c, err := New(o)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return c
	}

	t.Run("explicit fields, then the environment, then the defaults", func(t *testing.T) {
		logic := func(w http.ResponseWriter, r *http.Request, err error) {}
		c := newClient(t, Options{
			ClientID:              "explicit-client",
			PostLogoutRedirectURI: "bye",
			FederatedSignOut:      new(false),
			DefaultAuthParams:     AuthParams{Prompt: "login", MaxAge: new(300)},
			Resources:             []Indicator{{Resource: "https://api.example.com", Scopes: " read  write "}},
			OnError:               logic,
		}, map[string]string{
			"MONOCLOUD_AUTH_TENANT_DOMAIN":           "op.example.com",
			"MONOCLOUD_AUTH_CLIENT_ID":               "env-client", // loses to the explicit field
			"MONOCLOUD_AUTH_CLIENT_SECRET":           "env-secret",
			"MONOCLOUD_AUTH_APP_URL":                 "https://app.example.com/base/",
			"MONOCLOUD_AUTH_COOKIE_SECRET":           "0123456789abcdef0123456789abcdef",
			"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS": "fedcba9876543210fedcba9876543210",
			"MONOCLOUD_AUTH_SCOPES":                  "openid   offline_access",
			"MONOCLOUD_AUTH_SESSION_SLIDING":         "true",
			"MONOCLOUD_AUTH_SESSION_DURATION":        "3600",
			"MONOCLOUD_AUTH_SIGNIN_URL":              "login/",
		})
		o := c.Options()
		for _, tc := range []struct {
			name      string
			got, want any
		}{
			{"TenantDomain (env, https:// added)", o.TenantDomain, "https://op.example.com"},
			{"ClientID (explicit)", o.ClientID, "explicit-client"},
			{"ClientSecret (env)", o.ClientSecret, "env-secret"},
			{"ClientAuthMethod (default)", o.ClientAuthMethod, "client_secret_basic"},
			{"AppURL (env, trailing slash dropped)", o.AppURL, "https://app.example.com/base"},
			{"PreviousCookieSecrets (env)", o.PreviousCookieSecrets, []string{"fedcba9876543210fedcba9876543210"}},
			{"Routes.SignIn (env, normalized)", o.Routes.SignIn, "/login"},
			{"Routes.Callback (default)", o.Routes.Callback, "/api/auth/callback"},
			{"ClockSkew (default)", *o.ClockSkew, time.Duration(0)},
			{"ClockTolerance (default)", *o.ClockTolerance, 60 * time.Second},
			{"ResponseTimeout (default)", o.ResponseTimeout, 10 * time.Second},
			{"UsePAR (default)", *o.UsePAR, false},
			{"PostLogoutRedirectURI (explicit, as a path)", o.PostLogoutRedirectURI, "/bye"},
			{"FederatedSignOut (explicit false)", *o.FederatedSignOut, false},
			{"RevokeTokensOnSignOut (default)", *o.RevokeTokensOnSignOut, false},
			{"UserInfo (default)", *o.UserInfo, true},
			{"DefaultAuthParams.Scopes (env, joined)", o.DefaultAuthParams.Scopes, "openid offline_access"},
			{"DefaultAuthParams.Prompt (explicit)", o.DefaultAuthParams.Prompt, "login"},
			{"DefaultAuthParams.MaxAge (explicit)", *o.DefaultAuthParams.MaxAge, 300},
			{"Resources (scopes joined)", o.Resources, []Indicator{{Resource: "https://api.example.com", Scopes: "read write"}}},
			{"Session.Cookie.Name (default)", o.Session.Cookie.Name, "session"},
			{"Session.Cookie.Secure (https AppURL)", *o.Session.Cookie.Secure, true},
			{"Session.Cookie.SameSite (default)", o.Session.Cookie.SameSite, http.SameSiteLaxMode},
			{"Session.Sliding (env)", *o.Session.Sliding, true},
			{"Session.Duration (env)", o.Session.Duration, time.Hour},
			{"Session.MaximumDuration (default)", o.Session.MaximumDuration, 7 * 24 * time.Hour},
			{"State.Cookie.HTTPOnly (always)", *o.State.Cookie.HTTPOnly, true},
			{"IDTokenSigningAlg (default)", o.IDTokenSigningAlg, "RS256"},
			{"FilteredIDTokenClaims (default)", len(o.FilteredIDTokenClaims), 10},
			{"GroupsClaim (default)", o.GroupsClaim, "groups"},
			{"UserAgent (default)", o.UserAgent, "monocloud-auth-go"},
			{"Logger (default)", o.Logger != nil, true},
			{"OnError (kept)", reflect.ValueOf(o.OnError).Pointer(), reflect.ValueOf(logic).Pointer()},
		} {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		}
	})

	t.Run("the options resolved build the same client", func(t *testing.T) {
		c := newClient(t, cfgValid(), nil)
		o := c.Options()
		clearEnv(t)
		again, err := New(o)
		if err != nil {
			t.Fatalf("New(c.Options()): %v", err)
		}
		if !reflect.DeepEqual(again.Options(), o) {
			t.Errorf("New(c.Options()).Options() differs:\n%+v\n%+v", again.Options(), o)
		}
	})

	t.Run("the options resolved from every source build the same client", func(t *testing.T) {
		key := &ClientAssertionKey{Signer: testRSAKey(t, 2048), KeyID: "k", Algorithm: "PS256"}
		c := newClient(t, Options{
			ClientAssertionKey:    key,
			PostLogoutRedirectURI: "bye",
			ClockSkew:             new(5 * time.Second),
			RequireProvider:       new(false),
			DefaultAuthParams:     AuthParams{Prompt: "login", MaxAge: new(300), ACRValues: " a  b ", ResponseMode: "form_post"},
			Resources:             []Indicator{{Resource: "https://api.example.com", Scopes: " read  write "}},
			Session:               SessionOptions{Cookie: CookieOptions{Name: "sid", Domain: "app.example.com"}, Store: (&fakeStore{}).asStore()},
			State:                 StateOptions{Cookie: CookieOptions{SameSite: http.SameSiteStrictMode}, MaxConcurrent: 2},
			HTTPClient:            &http.Client{Timeout: time.Minute},
			Coordinator:           &fakeStore{},
			OnError:               func(http.ResponseWriter, *http.Request, error) {},
		}, map[string]string{
			"MONOCLOUD_AUTH_TENANT_DOMAIN":            "op.example.com",
			"MONOCLOUD_AUTH_CLIENT_ID":                "env-client",
			"MONOCLOUD_AUTH_APP_URL":                  "https://app.example.com/base/",
			"MONOCLOUD_AUTH_COOKIE_SECRET":            "0123456789abcdef0123456789abcdef",
			"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS":  "fedcba9876543210fedcba9876543210",
			"MONOCLOUD_AUTH_SCOPES":                   "openid   offline_access",
			"MONOCLOUD_AUTH_RESOURCE":                 "https://a.example.com  https://b.example.com/api",
			"MONOCLOUD_AUTH_SESSION_SLIDING":          "true",
			"MONOCLOUD_AUTH_SESSION_DURATION":         "3600",
			"MONOCLOUD_AUTH_SIGNIN_URL":               "login/",
			"MONOCLOUD_AUTH_USE_PAR":                  "true",
			"MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS": " iss  exp ",
			"MONOCLOUD_AUTH_STATE_DURATION":           "600",
			"MONOCLOUD_AUTH_LOG_LEVEL":                "warn",
		})
		t.Cleanup(func() { _ = c.Close() })
		o := c.Options()
		clearEnv(t)
		again, err := New(o)
		if err != nil {
			t.Fatalf("New(c.Options()): %v", err)
		}
		t.Cleanup(func() { _ = again.Close() })
		got := again.Options()
		if reflect.ValueOf(got.OnError).Pointer() != reflect.ValueOf(o.OnError).Pointer() {
			t.Error("OnError not kept")
		}
		got.OnError, o.OnError = nil, nil // funcs are DeepEqual only when nil
		if !reflect.DeepEqual(got, o) {
			t.Errorf("New(c.Options()).Options() differs:\n%+v\n%+v", got, o)
		}
	})

	t.Run("ClientAuthMethod as New resolved it", func(t *testing.T) {
		key := &ClientAssertionKey{Signer: testRSAKey(t, 2048), KeyID: "k", Algorithm: "RS256"}
		for _, tc := range []struct {
			method string
			opts   func(*Options)
		}{
			{"client_secret_basic", func(*Options) {}},
			{"client_secret_post", func(*Options) {}},
			{"client_secret_jwt", func(o *Options) { o.ClientSecret = strings.Repeat("s", 32) }},
			{"private_key_jwt", func(o *Options) { o.ClientAssertionKey = key }},
		} {
			o := cfgValid()
			o.ClientAuthMethod = tc.method
			tc.opts(&o)
			if got := newClient(t, o, nil).Options().ClientAuthMethod; got != tc.method {
				t.Errorf("ClientAuthMethod %q resolves to %q", tc.method, got)
			}
		}
	})

	t.Run("changing the copy does not change the client", func(t *testing.T) {
		hc := &http.Client{Timeout: time.Minute}
		c := newClient(t, Options{
			TenantDomain: "https://op.example.com", ClientID: "id", ClientSecret: "secret",
			AppURL: "https://app.example.com", CookieSecret: "0123456789abcdef0123456789abcdef",
			PreviousCookieSecrets: []string{"fedcba9876543210fedcba9876543210"},
			DefaultAuthParams:     AuthParams{MaxAge: new(300)},
			Resources:             []Indicator{{Resource: "https://api.example.com"}},
			HTTPClient:            hc,
		}, nil)
		before := c.Options()
		o := c.Options()
		o.ClientID = "changed"
		o.PreviousCookieSecrets[0] = "changed"
		o.Resources[0].Resource = "https://changed.example.com"
		o.FilteredIDTokenClaims[0] = "changed"
		*o.DefaultAuthParams.MaxAge = 1
		*o.ClockSkew = time.Hour
		*o.FederatedSignOut = false
		*o.Session.Cookie.Secure = false
		o.HTTPClient.Timeout = time.Second
		o.Routes.SignIn = "/changed"
		if after := c.Options(); !reflect.DeepEqual(after, before) {
			t.Errorf("the client changed with its copy:\n%+v\nwant\n%+v", after, before)
		}
		if hc.Timeout != time.Minute {
			t.Error("the caller's HTTPClient changed")
		}
		if c.cfg.opts.Routes.SignIn != "/api/auth/signin" || c.cfg.opts.DefaultAuthParams.MaxAge == nil || *c.cfg.opts.DefaultAuthParams.MaxAge != 300 {
			t.Error("the client's config changed")
		}
	})
}
