package monocloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/monocloudtest"
)

// cfgValid returns Options that pass validation without any environment.
func cfgValid() Options {
	return Options{
		TenantDomain: "https://op.example.com",
		ClientID:     "client",
		ClientSecret: "secret",
		AppURL:       "https://app.example.com",
		CookieSecret: "0123456789abcdef0123456789abcdef",
	}
}

// cfgResolve resolves o with a clean environment plus env and fails the
// test on error.
func cfgResolve(t *testing.T, o Options, env map[string]string) *config {
	t.Helper()
	clearEnv(t)
	setEnv(t, env)
	c, err := resolve(o)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return c
}

// validationErrors returns every *ValidationError joined in err.
func validationErrors(err error) []*ValidationError {
	var out []*ValidationError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case *ValidationError:
			out = append(out, e)
		default:
			var ve *ValidationError
			if errors.As(err, &ve) {
				out = append(out, ve)
			}
		}
	}
	walk(err)
	return out
}

func TestConfigDefaults(t *testing.T) {
	c := cfgResolve(t, cfgValid(), nil)
	wantRoutes := Routes{
		Callback:          "/api/auth/callback",
		BackChannelLogout: "/api/auth/backchannel-logout",
		SignIn:            "/api/auth/signin",
		SignOut:           "/api/auth/signout",
		UserInfo:          "/api/auth/userinfo",
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", c.opts.TenantDomain, "https://op.example.com"},
		{"client auth", c.authMethod, opclient.ClientSecretBasic},
		{"app URL", c.appURL.String(), "https://app.example.com"},
		{"secrets", c.cookieSecrets(), []string{"0123456789abcdef0123456789abcdef"}},
		{"routes", c.opts.Routes, wantRoutes},
		{"ClockSkew", *c.opts.ClockSkew, time.Duration(0)},
		{"ClockTolerance", *c.opts.ClockTolerance, 60 * time.Second},
		{"ResponseTimeout", c.opts.ResponseTimeout, 10 * time.Second},
		{"UsePAR", *c.opts.UsePAR, false},
		{"PostLogoutRedirectURI", c.opts.PostLogoutRedirectURI, ""},
		{"FederatedSignOut", *c.opts.FederatedSignOut, true},
		{"UserInfo", *c.opts.UserInfo, true},
		{"RefetchUserInfo", *c.opts.RefetchUserInfo, false},
		{"Scopes", c.opts.DefaultAuthParams.Scopes, "openid profile email"},
		{"Resource", c.opts.DefaultAuthParams.Resource, ""},
		{"session cookie", c.opts.Session.Cookie, CookieOptions{Name: "session", Path: "/", HTTPOnly: new(true), Secure: new(true), SameSite: http.SameSiteLaxMode, Persistent: new(true)}},
		{"state cookie", c.opts.State.Cookie, CookieOptions{Name: "state", Path: "/", HTTPOnly: new(true), Secure: new(true), SameSite: http.SameSiteLaxMode, Persistent: new(false)}},
		{"Sliding", *c.opts.Session.Sliding, false},
		{"Duration", c.opts.Session.Duration, 24 * time.Hour},
		{"MaximumDuration", c.opts.Session.MaximumDuration, 7 * 24 * time.Hour},
		{"IDTokenSigningAlg", c.opts.IDTokenSigningAlg, "RS256"},
		{"FilteredIDTokenClaims", c.opts.FilteredIDTokenClaims, strings.Fields("iss exp nbf aud nonce iat auth_time c_hash at_hash s_hash")},
		{"GroupsClaim", c.opts.GroupsClaim, "groups"},
		{"UserAgent", c.opts.UserAgent, "monocloud-auth-go"},
		{"HTTP timeout", c.httpClient.Timeout, 10 * time.Second},
	}
	for _, ck := range checks {
		if !equalAny(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if c.opts.Logger == nil {
		t.Error("Logger is nil, want slog.Default()")
	}

	// With an http AppURL cookies default to not Secure.
	o := cfgValid()
	o.AppURL = "http://localhost:3000"
	c = cfgResolve(t, o, nil)
	if *c.opts.Session.Cookie.Secure || *c.opts.State.Cookie.Secure {
		t.Errorf("http AppURL: Secure = %v/%v, want false/false", *c.opts.Session.Cookie.Secure, *c.opts.State.Cookie.Secure)
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return reflect.DeepEqual(a, b) // CookieOptions compared through their pointers
}

// TestConfigEnv checks that every option is read from its MONOCLOUD_AUTH_*
// variable when the field is zero.
func TestConfigEnv(t *testing.T) {
	httpApp := func(o *Options) { o.AppURL = "http://localhost:3000" }
	tests := []struct {
		env   map[string]string
		opts  func(*Options) // adjusts cfgValid() before resolving
		check func(c *config) (got, want any)
	}{
		{map[string]string{"MONOCLOUD_AUTH_TENANT_DOMAIN": "https://env-op.example.com/"}, func(o *Options) { o.TenantDomain = "" },
			func(c *config) (any, any) { return c.opts.TenantDomain, "https://env-op.example.com" }},
		{map[string]string{"MONOCLOUD_AUTH_CLIENT_ID": "env-client"}, func(o *Options) { o.ClientID = "" },
			func(c *config) (any, any) { return c.opts.ClientID, "env-client" }},
		{map[string]string{"MONOCLOUD_AUTH_CLIENT_SECRET": "env-secret"}, func(o *Options) { o.ClientSecret = "" },
			func(c *config) (any, any) { return c.opts.ClientSecret, "env-secret" }},
		{map[string]string{"MONOCLOUD_AUTH_CLIENT_AUTH_METHOD": "client_secret_post"}, nil,
			func(c *config) (any, any) { return c.authMethod, opclient.ClientSecretPost }},
		{map[string]string{"MONOCLOUD_AUTH_APP_URL": "https://env-app.example.com/base/"}, func(o *Options) { o.AppURL = "" },
			func(c *config) (any, any) { return c.appURL.String(), "https://env-app.example.com/base" }},
		{map[string]string{"MONOCLOUD_AUTH_COOKIE_SECRET": "env-cookie-secret-of-32-characters"}, func(o *Options) { o.CookieSecret = "" },
			func(c *config) (any, any) { return c.cookieSecrets()[0], "env-cookie-secret-of-32-characters" }},
		{map[string]string{"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS": " old-secret-one-of-32-characters!!  old-secret-two-of-32-characters!! "}, nil,
			func(c *config) (any, any) {
				return strings.Join(c.cookieSecrets()[1:], ","), "old-secret-one-of-32-characters!!,old-secret-two-of-32-characters!!"
			}},
		{map[string]string{"MONOCLOUD_AUTH_CALLBACK_URL": "/cb"}, nil,
			func(c *config) (any, any) { return c.opts.Routes.Callback, "/cb" }},
		{map[string]string{"MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL": "/bcl"}, nil,
			func(c *config) (any, any) { return c.opts.Routes.BackChannelLogout, "/bcl" }},
		{map[string]string{"MONOCLOUD_AUTH_SIGNIN_URL": "/login"}, nil,
			func(c *config) (any, any) { return c.opts.Routes.SignIn, "/login" }},
		{map[string]string{"MONOCLOUD_AUTH_SIGNOUT_URL": "/logout"}, nil,
			func(c *config) (any, any) { return c.opts.Routes.SignOut, "/logout" }},
		{map[string]string{"MONOCLOUD_AUTH_USER_INFO_URL": "/me"}, nil,
			func(c *config) (any, any) { return c.opts.Routes.UserInfo, "/me" }},
		{map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "30"}, nil,
			func(c *config) (any, any) { return *c.opts.ClockSkew, 30 * time.Second }},
		{map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "0"}, nil,
			func(c *config) (any, any) { return *c.opts.ClockSkew, time.Duration(0) }},
		{map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": " 2500 "}, nil,
			func(c *config) (any, any) { return c.opts.ResponseTimeout, 2500 * time.Millisecond }},
		{map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": "2500"}, nil,
			func(c *config) (any, any) { return c.httpClient.Timeout, 2500 * time.Millisecond }},
		{map[string]string{"MONOCLOUD_AUTH_USE_PAR": "true"}, nil,
			func(c *config) (any, any) { return *c.opts.UsePAR, true }},
		{map[string]string{"MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI": "/bye"}, nil,
			func(c *config) (any, any) { return c.opts.PostLogoutRedirectURI, "/bye" }},
		{map[string]string{"MONOCLOUD_AUTH_FEDERATED_SIGNOUT": "false"}, nil,
			func(c *config) (any, any) { return *c.opts.FederatedSignOut, false }},
		{map[string]string{"MONOCLOUD_AUTH_USER_INFO": "FALSE"}, nil,
			func(c *config) (any, any) { return *c.opts.UserInfo, false }},
		{map[string]string{"MONOCLOUD_AUTH_REFETCH_USER_INFO": "true"}, nil,
			func(c *config) (any, any) { return *c.opts.RefetchUserInfo, true }},
		{map[string]string{"MONOCLOUD_AUTH_SCOPES": " openid   offline_access\tprofile "}, nil,
			func(c *config) (any, any) { return c.opts.DefaultAuthParams.Scopes, "openid offline_access profile" }},
		{map[string]string{"MONOCLOUD_AUTH_RESOURCE": "https://a.example.com  https://b.example.com/api"}, nil,
			func(c *config) (any, any) {
				return c.opts.DefaultAuthParams.Resource, "https://a.example.com https://b.example.com/api"
			}},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_NAME": "sid"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Cookie.Name, "sid" }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_PATH": "/app"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Cookie.Path, "/app" }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_DOMAIN": "example.com"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Cookie.Domain, "example.com" }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_HTTP_ONLY": "false"}, nil,
			func(c *config) (any, any) { return *c.opts.Session.Cookie.HTTPOnly, false }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SECURE": "false"}, httpApp,
			func(c *config) (any, any) { return *c.opts.Session.Cookie.Secure, false }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SECURE": "true"}, httpApp,
			func(c *config) (any, any) { return *c.opts.Session.Cookie.Secure, true }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE": "strict"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Cookie.SameSite, http.SameSiteStrictMode }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE": "none"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Cookie.SameSite, http.SameSiteNoneMode }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_PERSISTENT": "false"}, nil,
			func(c *config) (any, any) { return *c.opts.Session.Cookie.Persistent, false }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_SLIDING": "true"}, nil,
			func(c *config) (any, any) { return *c.opts.Session.Sliding, true }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_DURATION": "3600"}, nil,
			func(c *config) (any, any) { return c.opts.Session.Duration, time.Hour }},
		{map[string]string{"MONOCLOUD_AUTH_SESSION_DURATION": "3600", "MONOCLOUD_AUTH_SESSION_MAX_DURATION": "7200"}, nil,
			func(c *config) (any, any) { return c.opts.Session.MaximumDuration, 2 * time.Hour }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_NAME": "tx"}, nil,
			func(c *config) (any, any) { return c.opts.State.Cookie.Name, "tx" }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_PATH": "/auth"}, nil,
			func(c *config) (any, any) { return c.opts.State.Cookie.Path, "/auth" }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_DOMAIN": "example.com"}, nil,
			func(c *config) (any, any) { return c.opts.State.Cookie.Domain, "example.com" }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SECURE": "false"}, httpApp,
			func(c *config) (any, any) { return *c.opts.State.Cookie.Secure, false }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE": "strict"}, nil,
			func(c *config) (any, any) { return c.opts.State.Cookie.SameSite, http.SameSiteStrictMode }},
		// HttpOnly and Persistent of the state cookie are forced.
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_HTTP_ONLY": "false"}, nil,
			func(c *config) (any, any) { return *c.opts.State.Cookie.HTTPOnly, true }},
		{map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_PERSISTENT": "true"}, nil,
			func(c *config) (any, any) { return *c.opts.State.Cookie.Persistent, false }},
		{map[string]string{"MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG": "ES256"}, nil,
			func(c *config) (any, any) { return c.opts.IDTokenSigningAlg, "ES256" }},
		{map[string]string{"MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS": "  iss   exp "}, nil,
			func(c *config) (any, any) { return strings.Join(c.opts.FilteredIDTokenClaims, ","), "iss,exp" }},
		{map[string]string{"MONOCLOUD_AUTH_GROUPS_CLAIM": "roles"}, nil,
			func(c *config) (any, any) { return c.opts.GroupsClaim, "roles" }},
		// Blank variables count as unset.
		{map[string]string{"MONOCLOUD_AUTH_USE_PAR": "  ", "MONOCLOUD_AUTH_SCOPES": ""}, nil,
			func(c *config) (any, any) { return c.opts.DefaultAuthParams.Scopes, "openid profile email" }},
	}
	for _, tt := range tests {
		var name string
		for k, v := range tt.env {
			name += k + "=" + v + ";"
		}
		t.Run(name, func(t *testing.T) {
			o := cfgValid()
			if tt.opts != nil {
				tt.opts(&o)
			}
			c := cfgResolve(t, o, tt.env)
			if got, want := tt.check(c); got != want {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// TestConfigExplicitWinsOverEnv sets every variable and an explicit field,
// and checks the field wins.
// TestConfigIgnoreEnvironment: with IgnoreEnvironment, MONOCLOUD_AUTH_*
// variables of the shell, valid or not, change nothing: every zero field
// takes its default.
func TestConfigIgnoreEnvironment(t *testing.T) {
	setEnv(t, map[string]string{
		"MONOCLOUD_AUTH_SCOPES":                  "profile", // without openid: refused when read
		"MONOCLOUD_AUTH_SESSION_DURATION":        "1d",      // not a duration: refused when read
		"MONOCLOUD_AUTH_USE_PAR":                 "true",
		"MONOCLOUD_AUTH_SIGNIN_URL":              "/login",
		"MONOCLOUD_AUTH_GROUPS_CLAIM":            "roles",
		"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS": "short",
	})
	if _, err := resolve(cfgValid()); err == nil {
		t.Fatal("resolve with the environment succeeded, want the polluted variables refused")
	}

	o := cfgValid()
	o.IgnoreEnvironment = true
	c, err := resolve(o)
	if err != nil {
		t.Fatalf("resolve with IgnoreEnvironment: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Scopes", c.opts.DefaultAuthParams.Scopes, "openid profile email"},
		{"Duration", c.opts.Session.Duration, 24 * time.Hour},
		{"UsePAR", *c.opts.UsePAR, false},
		{"Routes.SignIn", c.opts.Routes.SignIn, "/api/auth/signin"},
		{"GroupsClaim", c.opts.GroupsClaim, "groups"},
		{"secrets", c.cookieSecrets(), []string{o.CookieSecret}},
	}
	for _, ck := range checks {
		if !equalAny(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}

	// Required fields are not taken from the environment either.
	t.Setenv("MONOCLOUD_AUTH_CLIENT_ID", "env-client")
	o.ClientID = ""
	_, err = resolve(o)
	if ves := validationErrors(err); len(ves) != 1 || ves[0].Field != "ClientID" {
		t.Errorf("resolve without ClientID: %v, want ClientID required", err)
	}
}

func TestConfigExplicitWinsOverEnv(t *testing.T) {
	env := map[string]string{
		"MONOCLOUD_AUTH_TENANT_DOMAIN":             "https://env-op.example.com",
		"MONOCLOUD_AUTH_CLIENT_ID":                 "env-client",
		"MONOCLOUD_AUTH_CLIENT_SECRET":             "env-secret",
		"MONOCLOUD_AUTH_CLIENT_AUTH_METHOD":        "client_secret_post",
		"MONOCLOUD_AUTH_APP_URL":                   "https://env-app.example.com",
		"MONOCLOUD_AUTH_COOKIE_SECRET":             "env-cookie-secret-of-32-characters",
		"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS":   "env-old-secret-of-32-characters!!",
		"MONOCLOUD_AUTH_CALLBACK_URL":              "/env-cb",
		"MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL":   "/env-bcl",
		"MONOCLOUD_AUTH_SIGNIN_URL":                "/env-signin",
		"MONOCLOUD_AUTH_SIGNOUT_URL":               "/env-signout",
		"MONOCLOUD_AUTH_USER_INFO_URL":             "/env-me",
		"MONOCLOUD_AUTH_CLOCK_SKEW":                "30",
		"MONOCLOUD_AUTH_RESPONSE_TIMEOUT":          "2000",
		"MONOCLOUD_AUTH_USE_PAR":                   "true",
		"MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI":  "/env-bye",
		"MONOCLOUD_AUTH_FEDERATED_SIGNOUT":         "false",
		"MONOCLOUD_AUTH_USER_INFO":                 "false",
		"MONOCLOUD_AUTH_REFETCH_USER_INFO":         "true",
		"MONOCLOUD_AUTH_SCOPES":                    "openid env",
		"MONOCLOUD_AUTH_RESOURCE":                  "https://env-api.example.com",
		"MONOCLOUD_AUTH_SESSION_COOKIE_NAME":       "env-session",
		"MONOCLOUD_AUTH_SESSION_COOKIE_PATH":       "/env",
		"MONOCLOUD_AUTH_SESSION_COOKIE_DOMAIN":     "env.example.com",
		"MONOCLOUD_AUTH_SESSION_COOKIE_HTTP_ONLY":  "false",
		"MONOCLOUD_AUTH_SESSION_COOKIE_SECURE":     "false",
		"MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE":  "none",
		"MONOCLOUD_AUTH_SESSION_COOKIE_PERSISTENT": "false",
		"MONOCLOUD_AUTH_SESSION_SLIDING":           "true",
		"MONOCLOUD_AUTH_SESSION_DURATION":          "100",
		"MONOCLOUD_AUTH_SESSION_MAX_DURATION":      "200",
		"MONOCLOUD_AUTH_STATE_COOKIE_NAME":         "env-state",
		"MONOCLOUD_AUTH_STATE_COOKIE_PATH":         "/env",
		"MONOCLOUD_AUTH_STATE_COOKIE_DOMAIN":       "env.example.com",
		"MONOCLOUD_AUTH_STATE_COOKIE_SECURE":       "false",
		"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE":    "none",
		"MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG":      "ES512",
		"MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS":  "env_claim",
		"MONOCLOUD_AUTH_GROUPS_CLAIM":              "env_groups",
	}
	o := Options{
		TenantDomain:          "https://op.example.com",
		ClientID:              "client",
		ClientSecret:          "secret",
		ClientAuthMethod:      "client_secret_basic",
		AppURL:                "https://app.example.com",
		CookieSecret:          "explicit-cookie-secret-of-32-chars!",
		PreviousCookieSecrets: []string{"explicit-old-secret-of-32-chars!!"},
		Routes:                Routes{Callback: "/cb", BackChannelLogout: "/bcl", SignIn: "/signin", SignOut: "/signout", UserInfo: "/me"},
		ClockSkew:             new(time.Duration(0)),
		ResponseTimeout:       3 * time.Second,
		UsePAR:                new(false),
		PostLogoutRedirectURI: "/bye",
		FederatedSignOut:      new(true),
		UserInfo:              new(true),
		RefetchUserInfo:       new(false),
		DefaultAuthParams:     AuthParams{Scopes: "openid explicit", Resource: "https://api.example.com"},
		Session: SessionOptions{
			Cookie:          CookieOptions{Name: "sess", Path: "/", Domain: "app.example.com", HTTPOnly: new(true), Secure: new(true), SameSite: http.SameSiteStrictMode, Persistent: new(true)},
			Sliding:         new(false),
			Duration:        time.Hour,
			MaximumDuration: 2 * time.Hour,
		},
		State:                 StateOptions{Cookie: CookieOptions{Name: "st", Path: "/", Domain: "app.example.com", Secure: new(true), SameSite: http.SameSiteLaxMode}},
		IDTokenSigningAlg:     "PS256",
		FilteredIDTokenClaims: []string{"explicit_claim"},
		GroupsClaim:           "roles",
	}
	c := cfgResolve(t, o, env)
	checks := []struct {
		name      string
		got, want any
	}{
		{"TenantDomain", c.opts.TenantDomain, "https://op.example.com"},
		{"ClientID", c.opts.ClientID, "client"},
		{"ClientSecret", c.opts.ClientSecret, "secret"},
		{"ClientAuthMethod", c.authMethod, opclient.ClientSecretBasic},
		{"AppURL", c.appURL.String(), "https://app.example.com"},
		{"CookieSecret", strings.Join(c.cookieSecrets(), ","), "explicit-cookie-secret-of-32-chars!,explicit-old-secret-of-32-chars!!"},
		{"Routes", c.opts.Routes, o.Routes},
		{"ClockSkew", *c.opts.ClockSkew, time.Duration(0)},
		{"ResponseTimeout", c.opts.ResponseTimeout, 3 * time.Second},
		{"UsePAR", *c.opts.UsePAR, false},
		{"PostLogoutRedirectURI", c.opts.PostLogoutRedirectURI, "/bye"},
		{"FederatedSignOut", *c.opts.FederatedSignOut, true},
		{"UserInfo", *c.opts.UserInfo, true},
		{"RefetchUserInfo", *c.opts.RefetchUserInfo, false},
		{"Scopes", c.opts.DefaultAuthParams.Scopes, "openid explicit"},
		{"Resource", c.opts.DefaultAuthParams.Resource, "https://api.example.com"},
		{"Session.Cookie", c.opts.Session.Cookie, CookieOptions{Name: "sess", Path: "/", Domain: "app.example.com", HTTPOnly: new(true), Secure: new(true), SameSite: http.SameSiteStrictMode, Persistent: new(true)}},
		{"Session.Sliding", *c.opts.Session.Sliding, false},
		{"Session.Duration", c.opts.Session.Duration, time.Hour},
		{"Session.MaximumDuration", c.opts.Session.MaximumDuration, 2 * time.Hour},
		{"State.Cookie", c.opts.State.Cookie, CookieOptions{Name: "st", Path: "/", Domain: "app.example.com", HTTPOnly: new(true), Secure: new(true), SameSite: http.SameSiteLaxMode, Persistent: new(false)}},
		{"IDTokenSigningAlg", c.opts.IDTokenSigningAlg, "PS256"},
		{"FilteredIDTokenClaims", strings.Join(c.opts.FilteredIDTokenClaims, ","), "explicit_claim"},
		{"GroupsClaim", c.opts.GroupsClaim, "roles"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

// TestConfigValidation checks that each invalid option is reported as a
// *ValidationError naming the field and its variable, and nothing else.
func TestConfigValidation(t *testing.T) {
	httpApp := func(o *Options) { o.AppURL = "http://localhost:3000" }
	tests := []struct {
		name    string
		opts    func(*Options)
		env     map[string]string
		field   string
		envVar  string
		message string // substring
	}{
		{"TenantDomain required", func(o *Options) { o.TenantDomain = "" }, nil, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "is required"},
		{"ClientID required", func(o *Options) { o.ClientID = "" }, nil, "ClientID", "MONOCLOUD_AUTH_CLIENT_ID", "is required"},
		{"ClientSecret required", func(o *Options) { o.ClientSecret = "" }, nil, "ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET", "is required"},
		{"AppURL required", func(o *Options) { o.AppURL = "" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "is required"},
		{"CookieSecret required", func(o *Options) { o.CookieSecret = "" }, nil, "CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET", "is required"},
		{"CookieSecret too short", func(o *Options) { o.CookieSecret = strings.Repeat("x", 31) }, nil, "CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET", "at least 32 characters"},
		{"PreviousCookieSecrets too short", func(o *Options) { o.PreviousCookieSecrets = []string{"old"} }, nil, "PreviousCookieSecrets", "MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS", "at least 32 characters"},
		{"CookieSecret too short in env", func(o *Options) { o.CookieSecret = "" }, map[string]string{"MONOCLOUD_AUTH_COOKIE_SECRET": "short"}, "CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET", "at least 32 characters"},
		{"TenantDomain with query", func(o *Options) { o.TenantDomain = "https://op.example.com/?a=b" }, nil, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "without query"},
		{"TenantDomain with fragment", func(o *Options) { o.TenantDomain = "https://op.example.com#x" }, nil, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "without query or fragment"},
		{"TenantDomain with userinfo", func(o *Options) { o.TenantDomain = "https://user:pw@op.example.com" }, nil, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "host name"},
		{"TenantDomain without host", func(o *Options) { o.TenantDomain = "https://" }, nil, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "host name"},
		{"TenantDomain bad in env", func(o *Options) { o.TenantDomain = "" }, map[string]string{"MONOCLOUD_AUTH_TENANT_DOMAIN": "op.example.com?x=1"}, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN", "without query"},
		{"AppURL without scheme", func(o *Options) { o.AppURL = "app.example.com" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "absolute http(s) URL"},
		{"AppURL relative", func(o *Options) { o.AppURL = "/app" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "absolute http(s) URL"},
		{"AppURL other scheme", func(o *Options) { o.AppURL = "ftp://app.example.com" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "absolute http(s) URL"},
		{"AppURL with query", func(o *Options) { o.AppURL = "https://app.example.com/?a=b" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "without query"},
		{"AppURL with fragment", func(o *Options) { o.AppURL = "https://app.example.com/#top" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "without query or fragment"},
		{"AppURL with userinfo", func(o *Options) { o.AppURL = "https://u@app.example.com" }, nil, "AppURL", "MONOCLOUD_AUTH_APP_URL", "absolute http(s) URL"},
		{"ClientAuthMethod unknown", func(o *Options) { o.ClientAuthMethod = "spiffe_x509" }, nil, "ClientAuthMethod", "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD", "client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth or self_signed_tls_client_auth"},
		{"ClientAuthMethod unknown in env", nil, map[string]string{"MONOCLOUD_AUTH_CLIENT_AUTH_METHOD": "none"}, "ClientAuthMethod", "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD", `"none"`},
		{"Routes.SignIn absolute URL", func(o *Options) { o.Routes.SignIn = "https://evil.example/signin" }, nil, "Routes.SignIn", "MONOCLOUD_AUTH_SIGNIN_URL", "valid relative uri"},
		{"Routes.Callback network-path", func(o *Options) { o.Routes.Callback = "//evil.example/cb" }, nil, "Routes.Callback", "MONOCLOUD_AUTH_CALLBACK_URL", "valid relative uri"},
		{"Routes.SignOut with query", func(o *Options) { o.Routes.SignOut = "/signout?x=1" }, nil, "Routes.SignOut", "MONOCLOUD_AUTH_SIGNOUT_URL", "valid relative uri"},
		{"Routes.UserInfo with query in env", nil, map[string]string{"MONOCLOUD_AUTH_USER_INFO_URL": "/me?x"}, "Routes.UserInfo", "MONOCLOUD_AUTH_USER_INFO_URL", "valid relative uri"},
		{"Routes.BackChannelLogout absolute URL in env", nil, map[string]string{"MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL": "http://evil.example/bcl"}, "Routes.BackChannelLogout", "MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL", "valid relative uri"},
		{"ClockSkew negative", func(o *Options) { o.ClockSkew = new(-time.Second) }, nil, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", "must not be negative"},
		{"ClockSkew negative in env", nil, map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "-5"}, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", ""},
		{"ResponseTimeout below 1s", func(o *Options) { o.ResponseTimeout = 999 * time.Millisecond }, nil, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "at least 1s"},
		{"ResponseTimeout negative", func(o *Options) { o.ResponseTimeout = -time.Second }, nil, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "at least 1s"},
		{"ResponseTimeout below 1s in env", nil, map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": "999"}, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "at least 1s"},
		{"ResponseTimeout zero in env", nil, map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": "0"}, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "at least 1s"},
		{"Scopes without openid", func(o *Options) { o.DefaultAuthParams.Scopes = "profile email" }, nil, "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES", "Scope must contain openid"},
		{"Scopes with openid as a substring only", func(o *Options) { o.DefaultAuthParams.Scopes = "openidx profile" }, nil, "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES", "Scope must contain openid"},
		{"Scopes blank", func(o *Options) { o.DefaultAuthParams.Scopes = " \t " }, nil, "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES", "Scopes must be a space-separated string"},
		{"Scopes without openid in env", nil, map[string]string{"MONOCLOUD_AUTH_SCOPES": "profile"}, "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES", "Scope must contain openid"},
		{"Resource with query", func(o *Options) { o.DefaultAuthParams.Resource = "https://api.example.com/?a=1" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "Resource must be a valid URL without query or hash parameters"},
		{"Resource with empty query", func(o *Options) { o.DefaultAuthParams.Resource = "https://api.example.com/?" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "without query or hash"},
		{"Resource with hash", func(o *Options) { o.DefaultAuthParams.Resource = "https://api.example.com/#h" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "without query or hash"},
		{"Resource with empty hash", func(o *Options) { o.DefaultAuthParams.Resource = "https://api.example.com/#" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "without query or hash"},
		{"Resource not a URL", func(o *Options) { o.DefaultAuthParams.Resource = "api.example.com" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", `Invalid resource "api.example.com"`},
		{"Resource one bad item of two", func(o *Options) { o.DefaultAuthParams.Resource = "https://ok.example.com not-a-url" }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", `Invalid resource "not-a-url"`},
		{"Resource blank", func(o *Options) { o.DefaultAuthParams.Resource = "   " }, nil, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "Resource must not be empty"},
		{"Resource with query in env", nil, map[string]string{"MONOCLOUD_AUTH_RESOURCE": "https://api.example.com?x=y"}, "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE", "without query or hash"},
		{"Resources entry without resource", func(o *Options) { o.Resources = []Indicator{{Scopes: "read"}} }, nil, "Resources[0]", "", "Resource must not be empty"},
		{"Resources entry with bad resource", func(o *Options) {
			o.Resources = []Indicator{{Resource: "https://ok.example.com"}, {Resource: "https://api.example.com/?q"}}
		}, nil, "Resources[1]", "", "without query or hash"},
		{"Resources entry with blank scopes", func(o *Options) { o.Resources = []Indicator{{Resource: "https://api.example.com", Scopes: "  "}} }, nil, "Resources[0]", "", "Scopes must be a space-separated string"},
		{"ResponseMode unknown", func(o *Options) { o.DefaultAuthParams.ResponseMode = "fragment" }, nil, "DefaultAuthParams.ResponseMode", "", "query or form_post"},
		{"session cookie not Secure with https AppURL", func(o *Options) { o.Session.Cookie.Secure = new(false) }, nil, "Session.Cookie.Secure", "MONOCLOUD_AUTH_SESSION_COOKIE_SECURE", "Cookie must be set to secure when app url protocol is https."},
		{"session cookie not Secure with https AppURL in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SECURE": "false"}, "Session.Cookie.Secure", "MONOCLOUD_AUTH_SESSION_COOKIE_SECURE", "must be set to secure"},
		{"state cookie not Secure with https AppURL", func(o *Options) { o.State.Cookie.Secure = new(false) }, nil, "State.Cookie.Secure", "MONOCLOUD_AUTH_STATE_COOKIE_SECURE", "must be set to secure"},
		{"session SameSite=None without Secure", func(o *Options) { httpApp(o); o.Session.Cookie.SameSite = http.SameSiteNoneMode }, nil, "Session.Cookie.SameSite", "MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE", "SameSite=None requires a Secure cookie"},
		{"state SameSite=None without Secure in env", httpApp, map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE": "none"}, "State.Cookie.SameSite", "MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE", "SameSite=None requires a Secure cookie"},
		{"SameSite not lower case in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE": "Lax"}, "Session.Cookie.SameSite", "MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE", "strict, lax, none"},
		{"SameSite unknown in env", nil, map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE": "relaxed"}, "State.Cookie.SameSite", "MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE", "strict, lax, none"},
		{"session cookie name with space", func(o *Options) { o.Session.Cookie.Name = "my session" }, nil, "Session.Cookie.Name", "MONOCLOUD_AUTH_SESSION_COOKIE_NAME", "valid cookie name"},
		{"session cookie name with separator in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_NAME": "a;b"}, "Session.Cookie.Name", "MONOCLOUD_AUTH_SESSION_COOKIE_NAME", "valid cookie name"},
		{"state cookie name with =", func(o *Options) { o.State.Cookie.Name = "st=1" }, nil, "State.Cookie.Name", "MONOCLOUD_AUTH_STATE_COOKIE_NAME", "valid cookie name"},
		{"state cookie name equals session cookie name", func(o *Options) { o.State.Cookie.Name = "session" }, nil, "State.Cookie.Name", "MONOCLOUD_AUTH_STATE_COOKIE_NAME", "must differ"},
		{"session cookie path relative", func(o *Options) { o.Session.Cookie.Path = "app" }, nil, "Session.Cookie.Path", "MONOCLOUD_AUTH_SESSION_COOKIE_PATH", "must start with /"},
		{"state cookie path relative in env", nil, map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_PATH": "auth"}, "State.Cookie.Path", "MONOCLOUD_AUTH_STATE_COOKIE_PATH", "must start with /"},
		{"MaximumDuration below Duration", func(o *Options) { o.Session.Duration, o.Session.MaximumDuration = 2*time.Hour, time.Hour }, nil, "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater than Session.Duration"},
		{"MaximumDuration equal to Duration", func(o *Options) { o.Session.Duration, o.Session.MaximumDuration = time.Hour, time.Hour }, nil, "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater than Session.Duration"},
		{"MaximumDuration below the default Duration", func(o *Options) { o.Session.MaximumDuration = time.Hour }, nil, "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater"},
		{"MaximumDuration equal to Duration in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_DURATION": "100", "MONOCLOUD_AUTH_SESSION_MAX_DURATION": "100"}, "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater"},
		{"Duration below 1s", func(o *Options) { o.Session.Duration = 500 * time.Millisecond }, nil, "Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", "at least 1s"},
		{"Duration negative in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_DURATION": "-1"}, "Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", ""},
		{"bad boolean UsePAR", nil, map[string]string{"MONOCLOUD_AUTH_USE_PAR": "yes"}, "UsePAR", "MONOCLOUD_AUTH_USE_PAR", "true or false"},
		{"bad boolean FederatedSignOut", nil, map[string]string{"MONOCLOUD_AUTH_FEDERATED_SIGNOUT": "1"}, "FederatedSignOut", "MONOCLOUD_AUTH_FEDERATED_SIGNOUT", "true or false"},
		{"bad boolean UserInfo", nil, map[string]string{"MONOCLOUD_AUTH_USER_INFO": "on"}, "UserInfo", "MONOCLOUD_AUTH_USER_INFO", "true or false"},
		{"bad boolean RefetchUserInfo", nil, map[string]string{"MONOCLOUD_AUTH_REFETCH_USER_INFO": "nope"}, "RefetchUserInfo", "MONOCLOUD_AUTH_REFETCH_USER_INFO", "true or false"},
		{"bad boolean Session.Sliding", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_SLIDING": "Y"}, "Session.Sliding", "MONOCLOUD_AUTH_SESSION_SLIDING", "true or false"},
		{"bad boolean Session.Cookie.HTTPOnly", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_HTTP_ONLY": "maybe"}, "Session.Cookie.HTTPOnly", "MONOCLOUD_AUTH_SESSION_COOKIE_HTTP_ONLY", "true or false"},
		{"bad boolean Session.Cookie.Persistent", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_PERSISTENT": "2"}, "Session.Cookie.Persistent", "MONOCLOUD_AUTH_SESSION_COOKIE_PERSISTENT", "true or false"},
		{"bad boolean State.Cookie.Secure", nil, map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SECURE": "tru"}, "State.Cookie.Secure", "MONOCLOUD_AUTH_STATE_COOKIE_SECURE", "true or false"},
		{"bad number ClockSkew", nil, map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "abc"}, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", "a Go duration such as 90s or 1h, or a whole number of seconds"},
		{"fractional number ClockSkew", nil, map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "1.5"}, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", "whole number of seconds"},
		{"bad number ResponseTimeout", nil, map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": "10 s"}, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "whole number of milliseconds"},
		{"bad number Session.Duration", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_DURATION": "1d"}, "Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", "whole number"},
		{"bad number Session.MaximumDuration", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_MAX_DURATION": "x"}, "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "whole number"},
		// 18446744133 s overflows time.Duration and wraps to about 59 s.
		{"overflowing number ClockSkew", nil, map[string]string{"MONOCLOUD_AUTH_CLOCK_SKEW": "18446744133"}, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", ""},
		// 18446744078709 ms wraps to about 5 s.
		{"overflowing number ResponseTimeout", nil, map[string]string{"MONOCLOUD_AUTH_RESPONSE_TIMEOUT": "18446744078709"}, "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", ""},
		{"IDTokenSigningAlg HS256", func(o *Options) { o.IDTokenSigningAlg = "HS256" }, nil, "IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "must be one of RS256"},
		{"IDTokenSigningAlg none", func(o *Options) { o.IDTokenSigningAlg = "none" }, nil, "IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", `"none"`},
		{"IDTokenSigningAlg lower case", func(o *Options) { o.IDTokenSigningAlg = "rs256" }, nil, "IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "must be one of"},
		{"IDTokenSigningAlg unknown in env", nil, map[string]string{"MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG": "EdDSA"}, "IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", `"EdDSA"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, tt.env)
			o := cfgValid()
			if tt.opts != nil {
				tt.opts(&o)
			}
			c, err := resolve(o)
			if err == nil {
				t.Fatalf("resolve succeeded, want a *ValidationError for %s (routes %+v, ClockSkew %v, ResponseTimeout %v)", tt.field, c.opts.Routes, *c.opts.ClockSkew, c.opts.ResponseTimeout)
			}
			var first *ValidationError
			if !errors.As(err, &first) {
				t.Fatalf("errors.As(%v, *ValidationError) = false", err)
			}
			errs := validationErrors(err)
			found := false
			for _, ve := range errs {
				if ve.Field != tt.field || ve.EnvVar != tt.envVar {
					t.Errorf("unexpected error for another field: %v (Field %q, EnvVar %q)", ve, ve.Field, ve.EnvVar)
					continue
				}
				if strings.Contains(ve.Message, tt.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error with Field %q, EnvVar %q and a message containing %q in: %v", tt.field, tt.envVar, tt.message, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.field) || !strings.Contains(msg, tt.envVar) {
				t.Errorf("error text %q does not name %s and %s", msg, tt.field, tt.envVar)
			}
			// New reports the same errors, before any network access.
			if _, err := New(o); err == nil || len(validationErrors(err)) != len(errs) {
				t.Errorf("New: %v, want the %d validation errors of resolve", err, len(errs))
			}
		})
	}
}

func TestConfigJoinsSeveralErrors(t *testing.T) {
	clearEnv(t)
	setEnv(t, map[string]string{"MONOCLOUD_AUTH_USE_PAR": "perhaps"})
	o := cfgValid()
	o.ClientID = ""
	o.CookieSecret = "short"
	o.DefaultAuthParams.Scopes = "profile"
	o.Session.Duration, o.Session.MaximumDuration = time.Hour, time.Minute
	_, err := resolve(o)
	got := map[string]bool{}
	for _, ve := range validationErrors(err) {
		got[ve.Field] = true
	}
	for _, f := range []string{"ClientID", "CookieSecret", "DefaultAuthParams.Scopes", "Session.MaximumDuration", "UsePAR"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, err)
		}
	}
	if len(got) != 5 {
		t.Errorf("errors for %v, want exactly 5 fields", got)
	}
}

func TestConfigTenantDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"op.example.com", "https://op.example.com"},
		{"op.example.com/", "https://op.example.com"},
		{"acme.us.monocloud.com", "https://acme.us.monocloud.com"},
		{"op.example.com:8443", "https://op.example.com:8443"},
		{"https://op.example.com", "https://op.example.com"},
		{"https://op.example.com/", "https://op.example.com"},
		{"https://op.example.com/tenant/", "https://op.example.com/tenant"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"http://localhost:3001/oidc", "http://localhost:3001/oidc"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o := cfgValid()
			o.TenantDomain = tt.in
			if got := cfgResolve(t, o, nil).opts.TenantDomain; got != tt.want {
				t.Errorf("issuer = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigAppURL(t *testing.T) {
	tests := []struct{ in, want, path string }{
		{"https://app.example.com", "https://app.example.com", ""},
		{"https://app.example.com/", "https://app.example.com", ""},
		{" https://app.example.com/ ", "https://app.example.com", ""},
		{"https://app.example.com/base", "https://app.example.com/base", "/base"},
		{"https://app.example.com/base/", "https://app.example.com/base", "/base"},
		{"http://localhost:3000", "http://localhost:3000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o := cfgValid()
			o.AppURL = tt.in
			c := cfgResolve(t, o, nil)
			if got := c.appURL.String(); got != tt.want || c.appURL.Path != tt.path {
				t.Errorf("AppURL = %q (path %q), want %q (path %q)", got, c.appURL.Path, tt.want, tt.path)
			}
			cl := &Client{cfg: c}
			if got, want := cl.appURL("/api/auth/callback"), tt.want+"/api/auth/callback"; got != want {
				t.Errorf("callback URL = %q, want %q", got, want)
			}
		})
	}
}

func TestConfigRouteNormalisation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/login", "/login"},
		{"login", "/login"},
		{"/login/", "/login"},
		{"auth/login/", "/auth/login"},
		{" /login ", "/login"},
		{"/", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o := cfgValid()
			o.Routes = Routes{SignIn: tt.in, Callback: "/cb", SignOut: tt.in, UserInfo: tt.in, BackChannelLogout: tt.in}
			c := cfgResolve(t, o, nil)
			for name, got := range map[string]string{"SignIn": c.opts.Routes.SignIn, "SignOut": c.opts.Routes.SignOut, "UserInfo": c.opts.Routes.UserInfo, "BackChannelLogout": c.opts.Routes.BackChannelLogout} {
				if got != tt.want {
					t.Errorf("Routes.%s = %q, want %q", name, got, tt.want)
				}
			}
		})
	}
	t.Run("env", func(t *testing.T) {
		c := cfgResolve(t, cfgValid(), map[string]string{"MONOCLOUD_AUTH_SIGNIN_URL": "auth/login/"})
		if c.opts.Routes.SignIn != "/auth/login" {
			t.Errorf("Routes.SignIn = %q, want /auth/login", c.opts.Routes.SignIn)
		}
	})
}

func TestConfigCookieSecurity(t *testing.T) {
	t.Run("https AppURL makes both cookies Secure", func(t *testing.T) {
		c := cfgResolve(t, cfgValid(), nil)
		if !*c.opts.Session.Cookie.Secure || !*c.opts.State.Cookie.Secure {
			t.Errorf("Secure = %v/%v, want true/true", *c.opts.Session.Cookie.Secure, *c.opts.State.Cookie.Secure)
		}
	})
	t.Run("explicit Secure true with https AppURL", func(t *testing.T) {
		o := cfgValid()
		o.Session.Cookie.Secure = new(true)
		if c := cfgResolve(t, o, nil); !*c.opts.Session.Cookie.Secure {
			t.Error("Secure = false")
		}
	})
	t.Run("SameSite=None with Secure", func(t *testing.T) {
		o := cfgValid()
		o.Session.Cookie.SameSite = http.SameSiteNoneMode
		if c := cfgResolve(t, o, nil); c.opts.Session.Cookie.SameSite != http.SameSiteNoneMode || !*c.opts.Session.Cookie.Secure {
			t.Errorf("session cookie %+v, want SameSite=None and Secure", c.opts.Session.Cookie)
		}
	})
	t.Run("explicit SameSite wins over env", func(t *testing.T) {
		o := cfgValid()
		o.State.Cookie.SameSite = http.SameSiteStrictMode
		c := cfgResolve(t, o, map[string]string{"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE": "none"})
		if c.opts.State.Cookie.SameSite != http.SameSiteStrictMode {
			t.Errorf("SameSite = %v, want Strict", c.opts.State.Cookie.SameSite)
		}
	})
}

// TestConfigurationOptions ports node-core/tests/get-options.test.ts.
func TestConfigurationOptions(t *testing.T) {
	t.Run("should throw if the required properties are not set up", func(t *testing.T) {
		clearEnv(t)
		_, err := resolve(Options{})
		want := map[string]string{
			"TenantDomain": "MONOCLOUD_AUTH_TENANT_DOMAIN",
			"ClientID":     "MONOCLOUD_AUTH_CLIENT_ID",
			"ClientSecret": "MONOCLOUD_AUTH_CLIENT_SECRET",
			"AppURL":       "MONOCLOUD_AUTH_APP_URL",
			"CookieSecret": "MONOCLOUD_AUTH_COOKIE_SECRET",
		}
		errs := validationErrors(err)
		if len(errs) != len(want) {
			t.Errorf("%d errors, want %d: %v", len(errs), len(want), err)
		}
		for _, ve := range errs {
			if want[ve.Field] != ve.EnvVar || !strings.Contains(ve.Error(), ve.EnvVar) {
				t.Errorf("error %q: Field %q EnvVar %q", ve, ve.Field, ve.EnvVar)
			}
			delete(want, ve.Field)
		}
		if len(want) > 0 {
			t.Errorf("no error for %v", want)
		}
	})
	t.Run("should be able to configure id token claims filter", func(t *testing.T) {
		o := cfgValid()
		o.FilteredIDTokenClaims = []string{"email", "sid"}
		if got := cfgResolve(t, o, nil).opts.FilteredIDTokenClaims; !slices.Equal(got, []string{"email", "sid"}) {
			t.Errorf("filtered claims = %v", got)
		}
		o.FilteredIDTokenClaims = []string{}
		if got := cfgResolve(t, o, nil).opts.FilteredIDTokenClaims; len(got) != 0 {
			t.Errorf("an explicit empty filter = %v, want none", got)
		}
	})
	t.Run("should throw if the resource are not a valid url", func(t *testing.T) {
		o := cfgValid()
		o.DefaultAuthParams.Resource = "invalid resource"
		_, err := resolve(o)
		if n := len(validationErrors(err)); n != 2 || !strings.Contains(err.Error(), `Invalid resource "invalid"`) {
			t.Errorf("resolve: %v (%d errors), want one per bad item", err, n)
		}
	})
	t.Run("should throw if the scope does not have openid", func(t *testing.T) {
		o := cfgValid()
		o.DefaultAuthParams.Scopes = "profile email offline_access"
		if _, err := resolve(o); err == nil || !strings.Contains(err.Error(), "Scope must contain openid") {
			t.Errorf("resolve: %v", err)
		}
	})
	t.Run("should throw if the scope is empty", func(t *testing.T) {
		o := cfgValid()
		o.DefaultAuthParams.Scopes = "  "
		if _, err := resolve(o); err == nil || !strings.Contains(err.Error(), "Scopes must be a space-separated string") {
			t.Errorf("resolve: %v", err)
		}
	})
	t.Run("should throw if the resource have query params or hash", func(t *testing.T) {
		for _, res := range []string{"https://api.example.com?a=b", "https://api.example.com#hash", "https://api.example.com/p?x#y"} {
			o := cfgValid()
			o.DefaultAuthParams.Resource = res
			if _, err := resolve(o); err == nil || !strings.Contains(err.Error(), "Resource must be a valid URL without query or hash parameters") {
				t.Errorf("resource %q: %v", res, err)
			}
		}
	})
	t.Run("should be able to set resources", func(t *testing.T) {
		o := cfgValid()
		o.Resources = []Indicator{
			{Resource: "https://a.example.com  https://b.example.com", Scopes: " read   write "},
			{Resource: "urn:example:api"},
		}
		c := cfgResolve(t, o, nil)
		want := []Indicator{{Resource: "https://a.example.com https://b.example.com", Scopes: "read write"}, {Resource: "urn:example:api"}}
		if !slices.Equal(c.opts.Resources, want) {
			t.Errorf("resources = %+v, want %+v", c.opts.Resources, want)
		}
		if o.Resources[0].Scopes != " read   write " {
			t.Error("resolve changed the caller's Options.Resources")
		}
	})
}

func TestNewWithProvider(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	t.Run("explicit http issuer is kept", func(t *testing.T) {
		clearEnv(t)
		c, err := New(Options{TenantDomain: op.Issuer(), ClientID: "test-client", ClientSecret: "test-secret", AppURL: "http://localhost:3000", CookieSecret: testSecret})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		p, err := c.provider(context.Background())
		if err != nil {
			t.Fatalf("provider: %v", err)
		}
		if p.issuer != op.Issuer() || !strings.HasPrefix(p.authURL, op.Issuer()+"/") {
			t.Errorf("discovered issuer %q, authorize %q", p.issuer, p.authURL)
		}
	})
	t.Run("whole configuration from the environment", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{
			"MONOCLOUD_AUTH_TENANT_DOMAIN": op.Issuer() + "/",
			"MONOCLOUD_AUTH_CLIENT_ID":     "test-client",
			"MONOCLOUD_AUTH_CLIENT_SECRET": "test-secret",
			"MONOCLOUD_AUTH_APP_URL":       "http://localhost:3000/",
			"MONOCLOUD_AUTH_COOKIE_SECRET": testSecret,
		})
		c, err := New(Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if c.cfg.opts.ClientID != "test-client" || c.cfg.appURL.String() != "http://localhost:3000" {
			t.Errorf("config %+v", c.cfg)
		}
	})
}

func TestProviderCallsUseHTTPClientAndUserAgent(t *testing.T) {
	for _, tt := range []struct{ ua, want string }{{"", "monocloud-auth-go"}, {"my-app/1.0", "my-app/1.0"}} {
		t.Run(tt.want, func(t *testing.T) {
			tr := &fakeTransport{}
			app := newTestApp(t, appConfig{opts: Options{HTTPClient: &http.Client{Transport: tr}, UserAgent: tt.ua}})
			app.signInVia("/api/auth/signin")
			uas := tr.seenUserAgents()
			if len(uas) < 3 { // discovery, JWKS, token, userinfo
				t.Fatalf("the HTTPClient's transport saw %d requests, want discovery, token, JWKS and userinfo", len(uas))
			}
			for i, ua := range uas {
				if ua != tt.want {
					t.Errorf("request %d: User-Agent %q, want %q", i, ua, tt.want)
				}
			}
		})
	}
}

// TestResponseTimeout checks that every call to the provider is bounded by
// ResponseTimeout (a deliberate fix: the SDK has no HTTP timeout).
func TestResponseTimeout(t *testing.T) {
	const timeout = time.Second
	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		done := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-done:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(done) })
		start := time.Now()
		c, err := New(Options{TenantDomain: srv.URL, ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret, ResponseTimeout: timeout})
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("New: %v, want a client that discovers later", err)
		}
		if elapsed < timeout-50*time.Millisecond || elapsed > 3*timeout {
			t.Errorf("New returned after %v, want about %v", elapsed, timeout)
		}
		_, err = c.provider(context.Background())
		var he *HTTPError
		if !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("provider: %v, want an *HTTPError matching context.DeadlineExceeded and ErrProviderUnavailable", err)
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		t.Parallel()
		var got error
		app := newTestApp(t, appConfig{opts: Options{ResponseTimeout: timeout, OnError: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(errorStatus(err))
		}}})
		_, loc := app.startSignIn("/api/auth/signin")
		cb := app.op.Authorize(t, loc)
		app.op.SetTokenFault(monocloudtest.Fault{Delay: 10 * time.Second})
		start := time.Now()
		resp, _ := app.get(cb.String())
		elapsed := time.Since(start)
		var he *HTTPError
		if !errors.As(got, &he) || !errors.Is(got, context.DeadlineExceeded) {
			t.Errorf("OnError got %v, want an *HTTPError matching context.DeadlineExceeded", got)
		}
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", resp.StatusCode)
		}
		if elapsed > 3*timeout {
			t.Errorf("callback took %v, want about %v", elapsed, timeout)
		}
	})
	t.Run("userinfo endpoint", func(t *testing.T) {
		t.Parallel()
		app := newTestApp(t, appConfig{opts: Options{ResponseTimeout: timeout}})
		_, loc := app.startSignIn("/api/auth/signin")
		cb := app.op.Authorize(t, loc)
		app.op.SetUserinfoFault(monocloudtest.Fault{Delay: 10 * time.Second})
		start := time.Now()
		resp, body := app.get(cb.String())
		if elapsed := time.Since(start); elapsed > 3*timeout {
			t.Errorf("callback took %v, want about %v", elapsed, timeout)
		}
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504: %s", resp.StatusCode, body)
		}
	})
}

// clearEnv unsets every MONOCLOUD_AUTH_* variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MONOCLOUD_AUTH_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
}

// setEnv sets env vars for the test.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// TestClientAuthMethodReachesTheProvider: ClientAuthMethod selects how the
// PAR request, the code exchange and the refresh authenticate; the provider
// accepts only the method under test, and verifies the assertions.
func TestClientAuthMethodReachesTheProvider(t *testing.T) {
	rsaKey := testRSAKey(t, 2048)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: rsaKey, KeyID: "rsa-1", Algorithm: "PS256"})
	if err != nil {
		t.Fatal(err)
	}
	hmacSecret := strings.Repeat("h", 32)
	for _, tc := range []struct {
		name   string
		opts   Options
		opcfg  monocloudtest.Config
		method string
	}{
		{"default", Options{}, monocloudtest.Config{}, "client_secret_basic"},
		{"client_secret_post", Options{ClientAuthMethod: "client_secret_post"}, monocloudtest.Config{}, "client_secret_post"},
		{"client_secret_jwt", Options{ClientAuthMethod: "client_secret_jwt"}, monocloudtest.Config{ClientSecret: hmacSecret}, "client_secret_jwt"},
		{"private_key_jwt JWK", Options{ClientAuthMethod: "private_key_jwt", ClientSecret: string(jwk)},
			monocloudtest.Config{ClientPublicKey: &rsaKey.PublicKey}, "private_key_jwt"},
		{"ClientAssertionKey", Options{ClientAssertionKey: &ClientAssertionKey{Signer: ecKey, KeyID: "ec-1", Algorithm: "ES256"}},
			monocloudtest.Config{ClientPublicKey: &ecKey.PublicKey}, "private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opcfg.ClientAuthMethod = tc.method
			tc.opts.UsePAR = new(true)
			app := newTokensApp(t, tc.opcfg, tc.opts)
			app.signIn("")
			if got := app.op.AuthMethod(); got != tc.method {
				t.Errorf("code exchange used %q, want %q", got, tc.method)
			}
			app.mustTokens(&GetTokensOptions{ForceRefresh: true})
			if got := app.op.AuthMethod(); got != tc.method {
				t.Errorf("refresh used %q, want %q", got, tc.method)
			}
		})
	}
}

// TestClientAssertionKeyRefused: New refuses keys unfit for private_key_jwt
// and secrets too short for client_secret_jwt, naming the field and its
// variable, without quoting the key.
func TestClientAssertionKeyRefused(t *testing.T) {
	rsa1024 := testRSAKey(t, 1024)
	rsa2048 := testRSAKey(t, 2048)
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := func(key any, kid, alg string) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const secretField, secretEnv = "ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET"
	for _, tc := range []struct {
		name          string
		opts          func(*Options)
		field, envVar string
		message       string
	}{
		{"RSA 1024", func(o *Options) { o.ClientSecret = jwk(rsa1024, "k", "RS256") }, secretField, secretEnv, "1024 bits is too small"},
		{"HS key", func(o *Options) { o.ClientSecret = jwk([]byte(strings.Repeat("s", 32)), "k", "HS256") }, secretField, secretEnv, "private RSA or EC JWK"},
		{"public key", func(o *Options) { o.ClientSecret = jwk(&rsa2048.PublicKey, "k", "RS256") }, secretField, secretEnv, "private RSA or EC JWK"},
		{"missing kid", func(o *Options) { o.ClientSecret = jwk(rsa2048, "", "RS256") }, secretField, secretEnv, "kid"},
		{"missing alg", func(o *Options) { o.ClientSecret = jwk(rsa2048, "k", "") }, secretField, secretEnv, "alg"},
		{"unknown alg", func(o *Options) { o.ClientSecret = jwk(rsa2048, "k", "RS1") }, secretField, secretEnv, `"RS1" is not supported`},
		{"EdDSA", func(o *Options) { o.ClientSecret = jwk(rsa2048, "k", "EdDSA") }, secretField, secretEnv, "not supported"},
		{"ES alg with RSA key", func(o *Options) { o.ClientSecret = jwk(rsa2048, "k", "ES256") }, secretField, secretEnv, "ECDSA key on P-256"},
		{"ES256 with P-384", func(o *Options) { o.ClientSecret = jwk(ecKey, "k", "ES256") }, secretField, secretEnv, "ECDSA key on P-256"},
		{"RS alg with EC key", func(o *Options) { o.ClientSecret = jwk(ecKey, "k", "RS256") }, secretField, secretEnv, "needs an RSA key"},
		{"not a JWK", func(o *Options) { o.ClientSecret = "secret" }, secretField, secretEnv, "private JWK"},
		{"signer RSA 1024", func(o *Options) {
			o.ClientAssertionKey = &ClientAssertionKey{Signer: rsa1024, KeyID: "k", Algorithm: "PS256"}
		}, "ClientAssertionKey", "", "1024 bits"},
		{"signer without kid", func(o *Options) {
			o.ClientAssertionKey = &ClientAssertionKey{Signer: ecKey, Algorithm: "ES384"}
		}, "ClientAssertionKey", "", "kid"},
		{"signer with another method", func(o *Options) {
			o.ClientAuthMethod = "client_secret_jwt"
			o.ClientAssertionKey = &ClientAssertionKey{Signer: ecKey, KeyID: "k", Algorithm: "ES384"}
		}, "ClientAssertionKey", "", "requires ClientAuthMethod private_key_jwt"},
		{"short HMAC secret", func(o *Options) {
			o.ClientAuthMethod, o.ClientSecret = "client_secret_jwt", strings.Repeat("s", 31)
		}, secretField, secretEnv, "at least 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			o := cfgValid()
			o.ClientAuthMethod = "private_key_jwt"
			tc.opts(&o)
			_, err := resolve(o)
			ves := validationErrors(err)
			if len(ves) != 1 || ves[0].Field != tc.field || ves[0].EnvVar != tc.envVar || !strings.Contains(ves[0].Message, tc.message) {
				t.Fatalf("got %v, want one error on %s (%s) containing %q", err, tc.field, tc.envVar, tc.message)
			}
			if o.ClientSecret != "" && len(o.ClientSecret) > 40 && strings.Contains(err.Error(), o.ClientSecret[10:40]) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

// testRSAKey returns a new RSA key of the given size.
func testRSAKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPostLogoutRedirectURIOnAnotherOrigin: PostLogoutRedirectURI must be
// on AppURL's origin. Kills: the check removed from resolve.
func TestPostLogoutRedirectURIOnAnotherOrigin(t *testing.T) {
	clearEnv(t)
	o := cfgValid()
	o.PostLogoutRedirectURI = "https://evil.example/bye"
	_, err := resolve(o)
	ves := validationErrors(err)
	if len(ves) != 1 || ves[0].Field != "PostLogoutRedirectURI" || ves[0].EnvVar != "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI" {
		t.Fatalf("resolve: %v, want one ValidationError for PostLogoutRedirectURI", err)
	}

	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	o.TenantDomain = op.Issuer()
	c, err := New(o)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "PostLogoutRedirectURI" {
		t.Fatalf("New = %v, %v; want a ValidationError for PostLogoutRedirectURI", c, err)
	}

	for _, ok := range []string{"https://app.example.com/bye", "/bye", "bye"} {
		o.PostLogoutRedirectURI = ok
		if _, err := resolve(o); err != nil {
			t.Errorf("PostLogoutRedirectURI %q: %v", ok, err)
		}
	}
}

// TestConfigState: State.Duration (default 900 s, at least 300 s),
// State.MaxConcurrent (1 to 20, default 5), and state and session cookie
// names that cannot collide across a '.'.
func TestConfigState(t *testing.T) {
	c := cfgResolve(t, cfgValid(), nil)
	if c.opts.State.Duration != 900*time.Second || c.opts.State.MaxConcurrent != 5 {
		t.Errorf("defaults: duration %v, max %d; want 15m0s and 5", c.opts.State.Duration, c.opts.State.MaxConcurrent)
	}
	c = cfgResolve(t, cfgValid(), map[string]string{"MONOCLOUD_AUTH_STATE_DURATION": "300", "MONOCLOUD_AUTH_STATE_MAX_CONCURRENT": "20"})
	if c.opts.State.Duration != 300*time.Second || c.opts.State.MaxConcurrent != 20 {
		t.Errorf("env: duration %v, max %d; want 5m0s and 20", c.opts.State.Duration, c.opts.State.MaxConcurrent)
	}
	for _, tc := range []struct {
		name           string
		opts           func(*Options)
		env            map[string]string
		field, message string
	}{
		{"duration below 300 s", func(o *Options) { o.State.Duration = 299 * time.Second }, nil, "State.Duration", "at least 5m0s"},
		{"duration below 300 s in env", nil, map[string]string{"MONOCLOUD_AUTH_STATE_DURATION": "60"}, "State.Duration", "at least 5m0s"},
		{"max concurrent above 20", func(o *Options) { o.State.MaxConcurrent = 21 }, nil, "State.MaxConcurrent", "from 1 to 20"},
		{"max concurrent negative", func(o *Options) { o.State.MaxConcurrent = -1 }, nil, "State.MaxConcurrent", "from 1 to 20"},
		{"max concurrent 0 in env", nil, map[string]string{"MONOCLOUD_AUTH_STATE_MAX_CONCURRENT": "0"}, "State.MaxConcurrent", "from 1 to 20"},
		{"max concurrent not a number in env", nil, map[string]string{"MONOCLOUD_AUTH_STATE_MAX_CONCURRENT": "five"}, "State.MaxConcurrent", "whole number"},
		{"same names", func(o *Options) { o.State.Cookie.Name = "session" }, nil, "State.Cookie.Name", "must differ"},
		{"state name under the session's", func(o *Options) { o.State.Cookie.Name = "session.0" }, nil, "State.Cookie.Name", "must differ"},
		{"session name under the state's", func(o *Options) { o.Session.Cookie.Name = "state.x" }, nil, "State.Cookie.Name", "must differ"},
		{"names colliding in env", nil, map[string]string{"MONOCLOUD_AUTH_SESSION_COOKIE_NAME": "a.b", "MONOCLOUD_AUTH_STATE_COOKIE_NAME": "a"}, "State.Cookie.Name", "must differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := cfgValid()
			if tc.opts != nil {
				tc.opts(&o)
			}
			clearEnv(t)
			setEnv(t, tc.env)
			_, err := resolve(o)
			errs := validationErrors(err)
			if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.message) {
				t.Errorf("errors %v, want one for %s containing %q", errs, tc.field, tc.message)
			}
		})
	}
	// Names that only share a prefix do not collide.
	o := cfgValid()
	o.Session.Cookie.Name, o.State.Cookie.Name = "app", "app_state"
	cfgResolve(t, o, nil)
}

// TestConfigFetchUserInfoEnv: the SDK's MONOCLOUD_AUTH_FETCH_USER_INFO is
// read beside its former name MONOCLOUD_AUTH_USER_INFO, and wins.
func TestConfigFetchUserInfoEnv(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, true},
		{map[string]string{"MONOCLOUD_AUTH_FETCH_USER_INFO": "false"}, false},
		{map[string]string{"MONOCLOUD_AUTH_USER_INFO": "false"}, false},
		{map[string]string{"MONOCLOUD_AUTH_FETCH_USER_INFO": "true", "MONOCLOUD_AUTH_USER_INFO": "false"}, true},
	} {
		if got := *cfgResolve(t, cfgValid(), tc.env).opts.UserInfo; got != tc.want {
			t.Errorf("%v: userInfo %v, want %v", tc.env, got, tc.want)
		}
	}
	o := cfgValid()
	o.UserInfo = new(true)
	if !*cfgResolve(t, o, map[string]string{"MONOCLOUD_AUTH_FETCH_USER_INFO": "false"}).opts.UserInfo {
		t.Error("the explicit field lost to the environment")
	}
}

// TestConfigClockTolerance: MONOCLOUD_AUTH_CLOCK_TOLERANCE, beside
// MONOCLOUD_AUTH_CLOCK_SKEW, not negative.
func TestConfigClockTolerance(t *testing.T) {
	c := cfgResolve(t, cfgValid(), map[string]string{"MONOCLOUD_AUTH_CLOCK_TOLERANCE": "30", "MONOCLOUD_AUTH_CLOCK_SKEW": "5"})
	if *c.opts.ClockTolerance != 30*time.Second || *c.opts.ClockSkew != 5*time.Second {
		t.Errorf("tolerance %v, skew %v; want 30s and 5s", *c.opts.ClockTolerance, *c.opts.ClockSkew)
	}
	clearEnv(t)
	setEnv(t, map[string]string{"MONOCLOUD_AUTH_CLOCK_TOLERANCE": "-1"})
	if errs := validationErrors(func() error { _, err := resolve(cfgValid()); return err }()); len(errs) != 1 || errs[0].Field != "ClockTolerance" {
		t.Errorf("negative tolerance: %v", errs)
	}
}
