package backend

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestNewReportsEveryProblemWithFieldAndVariable(t *testing.T) {
	t.Setenv("MONOCLOUD_BACKEND_CLOCK_SKEW", "-3")
	t.Setenv("MONOCLOUD_BACKEND_RESPONSE_TIMEOUT", "500")
	t.Setenv("MONOCLOUD_BACKEND_GROUPS_MATCH_ALL", "yes")
	t.Setenv("MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE", "-1")
	_, err := New(Options{ClientAuthMethod: "spiffe_jwt", Algorithms: []string{"HS256"}})
	if err == nil {
		t.Fatal("New succeeded")
	}
	for _, want := range []string{
		"TenantDomain (MONOCLOUD_BACKEND_TENANT_DOMAIN): is required",
		"Audience (MONOCLOUD_BACKEND_AUDIENCE): is required",
		"ClientAuthMethod (MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD)",
		"ClockSkew (MONOCLOUD_BACKEND_CLOCK_SKEW): must not be negative",
		"ResponseTimeout (MONOCLOUD_BACKEND_RESPONSE_TIMEOUT): must be at least 1s",
		"GroupsMatchAll (MONOCLOUD_BACKEND_GROUPS_MATCH_ALL): must be true or false",
		`Algorithms (MONOCLOUD_BACKEND_ALGORITHMS): "HS256" is not an asymmetric`,
		"DPoPReplayCacheSize (MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE): must be positive",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("error is not a *ValidationError: %T", err)
	}
}

func TestNewReadsEnvironment(t *testing.T) {
	for name, value := range map[string]string{
		"MONOCLOUD_BACKEND_TENANT_DOMAIN":                "tenant.example.com",
		"MONOCLOUD_BACKEND_AUDIENCE":                     "https://api",
		"MONOCLOUD_BACKEND_CLIENT_ID":                    "id",
		"MONOCLOUD_BACKEND_CLIENT_SECRET":                "secret",
		"MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD":           "client_secret_basic",
		"MONOCLOUD_BACKEND_GROUPS_CLAIM":                 "roles",
		"MONOCLOUD_BACKEND_GROUPS_MATCH_ALL":             "TRUE",
		"MONOCLOUD_BACKEND_CLOCK_SKEW":                   "10",
		"MONOCLOUD_BACKEND_CLOCK_TOLERANCE":              "2m",
		"MONOCLOUD_BACKEND_JWKS_CACHE_DURATION":          "600",
		"MONOCLOUD_BACKEND_METADATA_CACHE_DURATION":      "1h",
		"MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS":        "true",
		"MONOCLOUD_BACKEND_VALIDATE_CERTIFICATE_BINDING": "required",
		"MONOCLOUD_BACKEND_RESPONSE_TIMEOUT":             "2500",
		"MONOCLOUD_BACKEND_INTROSPECTION_CACHE_DURATION": "0",
		"MONOCLOUD_BACKEND_TRUST_STORE_ID":               "store",
		"MONOCLOUD_BACKEND_DPOP":                         "required",
		"MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE":       "500",
		"MONOCLOUD_BACKEND_TRUSTED_PROXIES":              "10.0.0.0/8 192.0.2.1",
		"MONOCLOUD_BACKEND_REQUIRE_EXP":                  "false",
		"MONOCLOUD_BACKEND_STRICT_TOKEN_TYPE":            "true",
		"MONOCLOUD_BACKEND_REALM":                        "api",
	} {
		t.Setenv(name, value)
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.cfg
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"issuer", cfg.issuer, "https://tenant.example.com"},
		{"audience", cfg.audience, "https://api"},
		{"groupsClaim", cfg.groupsClaim, "roles"},
		{"groupsMatchAll", cfg.groupsMatchAll, true},
		{"clockSkew", cfg.clockSkew, 10 * time.Second},
		{"clockTolerance", cfg.clockTolerance, 2 * time.Minute},
		{"jwksTTL", cfg.jwksTTL, 600 * time.Second},
		{"metadataTTL", cfg.metadataTTL, time.Hour},
		{"introspectJWT", cfg.introspectJWT, true},
		{"binding", cfg.binding, BindingRequired},
		{"responseTimeout", cfg.responseTimeout, 2500 * time.Millisecond},
		{"introspectionTTL", cfg.introspectionTTL, time.Duration(0)},
		{"trustStoreID", cfg.trustStoreID, "store"},
		{"dpop", cfg.dpop, DPoPRequired},
		{"replaySize", cfg.replaySize, 500},
		{"proxies", len(cfg.proxies), 2},
		{"requireExp", cfg.requireExp, false},
		{"strictType", cfg.strictType, true},
		{"realm", cfg.realm, "api"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
}

func TestNewPrefersOptionsOverEnvironmentAndAppliesSDKDefaults(t *testing.T) {
	t.Setenv("MONOCLOUD_BACKEND_TENANT_DOMAIN", "env.example.com")
	t.Setenv("MONOCLOUD_BACKEND_AUDIENCE", "https://env-api")
	c, err := New(Options{TenantDomain: "http://127.0.0.1:9000/", Audience: "my-api"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.cfg
	if cfg.issuer != "http://127.0.0.1:9000" || cfg.audience != "my-api" {
		t.Errorf("issuer %q audience %q: options must win, a non-URI audience is accepted", cfg.issuer, cfg.audience)
	}
	if cfg.clockTolerance != 60*time.Second || cfg.clockSkew != 0 || cfg.jwksTTL != 300*time.Second ||
		cfg.introspectionTTL != 300*time.Second || cfg.responseTimeout != 10*time.Second ||
		cfg.binding != BindingWhenPresent || cfg.groupsClaim != "groups" || !cfg.requireExp || cfg.dpop != DPoPAllowed {
		t.Errorf("defaults differ from the SDK's: %+v", cfg)
	}
	if c.cfg.authMethod.String() != "client_secret_post" {
		t.Errorf("auth method %v, want client_secret_post (the backend SDK's default)", c.cfg.authMethod)
	}
}

func TestNewClientSecretForPrivateKeyJWT(t *testing.T) {
	base := Options{TenantDomain: "t.example.com", Audience: "a", ClientID: "id", ClientAuthMethod: "private_key_jwt"}
	plain := base
	plain.ClientSecret = "not-a-jwk"
	if _, err := New(plain); err == nil || !strings.Contains(err.Error(), "ClientSecret (MONOCLOUD_BACKEND_CLIENT_SECRET): must be a private JWK") {
		t.Errorf("plain secret for private_key_jwt: %v", err)
	}
	jwk := base
	jwk.ClientSecret = testPrivateJWK(t)
	c, err := New(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.assertionKey == nil || c.cfg.assertionKey.KeyID != "k1" {
		t.Errorf("assertion key not parsed from the JWK secret: %+v", c.cfg.assertionKey)
	}
}

func TestNewIntrospectionNeedsASecret(t *testing.T) {
	_, err := New(Options{TenantDomain: "t.example.com", Audience: "a", ClientID: "id"})
	if err == nil || !strings.Contains(err.Error(), "ClientSecret (MONOCLOUD_BACKEND_CLIENT_SECRET): is required with ClientID") {
		t.Errorf("ClientID without a secret: %v", err)
	}
	if _, err := New(Options{TenantDomain: "t.example.com", Audience: "a", ClientID: "id", ClientAuthMethod: "tls_client_auth"}); err != nil {
		t.Errorf("tls_client_auth needs no secret: %v", err)
	}
}

func TestNewClientAuthCertificate(t *testing.T) {
	cert := monocloudtest.NewClientCertificate(t, "api")
	base := Options{TenantDomain: "t.example.com", Audience: "a", ClientID: "id", ClientAuthCertificate: &cert}
	for _, tc := range []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"tls_client_auth", func(o *Options) { o.ClientAuthMethod = "tls_client_auth" }, ""},
		{"self_signed_tls_client_auth with a custom transport", func(o *Options) {
			o.ClientAuthMethod, o.HTTPClient = "self_signed_tls_client_auth", &http.Client{Transport: &http.Transport{}}
		}, ""},
		{"a secret method", func(o *Options) { o.ClientAuthMethod, o.ClientSecret = "client_secret_post", "s" },
			"ClientAuthCertificate: requires ClientAuthMethod tls_client_auth or self_signed_tls_client_auth, got client_secret_post"},
		{"a transport it cannot add the certificate to", func(o *Options) {
			o.ClientAuthMethod, o.HTTPClient = "tls_client_auth", &http.Client{Transport: roundTripperFunc(nil)}
		}, "ClientAuthCertificate: HTTPClient's Transport must be an *http.Transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			c, err := New(o)
			if tc.wantErr != "" {
				var ve *ValidationError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ve) || ve.Field != "ClientAuthCertificate" {
					t.Errorf("error %v, want one naming ClientAuthCertificate: %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.cfg.authMethod.MutualTLS() {
				t.Errorf("auth method %v, want a mutual TLS one", c.cfg.authMethod)
			}
			if o.HTTPClient == nil {
				return
			}
			if tr, _ := o.HTTPClient.Transport.(*http.Transport); tr != nil && tr.TLSClientConfig != nil && len(tr.TLSClientConfig.Certificates) != 0 {
				t.Error("the caller's transport was modified: it must be cloned")
			}
		})
	}
}

// roundTripperFunc is an http.RoundTripper that is not an *http.Transport.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
