package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/internal/settings"
)

// config is Options resolved against the environment and the defaults, and
// validated.
type config struct {
	issuer, audience       string
	clientID, clientSecret string
	authMethod             opclient.AuthMethod
	assertionKey           *opclient.AssertionKey
	trustStoreID           string

	groupsClaim    string
	groupsMatchAll bool
	clockSkew      time.Duration
	clockTolerance time.Duration
	requireExp     bool
	strictType     bool
	algs           []jose.SignatureAlgorithm

	jwksTTL, metadataTTL time.Duration
	responseTimeout      time.Duration
	introspectJWT        bool
	introspectionTTL     time.Duration
	sharedCache          IntrospectionCache

	binding      CertificateBinding
	certificate  CertificateSource
	dpop         DPoPMode
	dpopLifetime time.Duration
	replay       ReplayStore
	replaySize   int
	nonces       NonceSource
	proxies      []netip.Prefix

	extractor      func(*http.Request) (string, error)
	allowQuery     bool
	maxTokenLength int
	realm          string
	resourceMeta   string
	errorWriter    func(http.ResponseWriter, *http.Request, error)
	cacheSize      int

	httpClient *http.Client
	logger     *slog.Logger
	onEvent    func(context.Context, Event)
}

// ValidationError reports an invalid option, naming the field of Options
// and its environment variable.
type ValidationError struct {
	Field, EnvVar string
	Message       string
	Err           error
}

func (e *ValidationError) Error() string {
	if e.EnvVar != "" {
		return fmt.Sprintf("backend: %s (%s): %s", e.Field, e.EnvVar, e.Message)
	}
	return fmt.Sprintf("backend: %s: %s", e.Field, e.Message)
}

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// defaultAlgorithms are the JWS algorithms accepted by default: those of
// MonoCloud's SDK.
var defaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// Defaults that are not the SDK's.
const (
	defaultMaxTokenLength = 8192
	defaultCacheSize      = 10000
	// defaultReplayCacheSize holds the proofs of 555 DPoP requests a
	// second over the default replay window of 180 s, in about 20 MB.
	defaultReplayCacheSize = 100000
	defaultProofLifetime   = 60 * time.Second
)

// resolver reads the fields of Options (see settings.Reader) and checks
// them, collecting every problem.
type resolver struct{ *settings.Reader }

// lookupEnv is os.LookupEnv with the value trimmed of spaces.
func lookupEnv(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	return strings.TrimSpace(v), ok
}

// duration is Reader.Duration for a duration that must not be negative.
func (r *resolver) duration(v *time.Duration, field, env string, unit, def time.Duration) time.Duration {
	d := r.Duration(v, field, env, unit, def)
	if d < 0 {
		r.Fail(field, env, "must not be negative, got %v", d)
		return def
	}
	return d
}

func resolve(o Options) (*config, error) {
	r := &resolver{settings.NewReader(lookupEnv)}
	c := &config{}
	c.issuer = r.Issuer(o.TenantDomain, "TenantDomain", "MONOCLOUD_BACKEND_TENANT_DOMAIN")
	c.audience = r.Required(o.Audience, "Audience", "MONOCLOUD_BACKEND_AUDIENCE")
	c.clientID = r.String(o.ClientID, "MONOCLOUD_BACKEND_CLIENT_ID", "")
	c.clientSecret = r.String(o.ClientSecret, "MONOCLOUD_BACKEND_CLIENT_SECRET", "")
	c.trustStoreID = r.String(o.TrustStoreID, "MONOCLOUD_BACKEND_TRUST_STORE_ID", "")
	r.clientAuth(c, r.String(o.ClientAuthMethod, "MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD", "client_secret_post"))

	c.groupsClaim = r.String(o.GroupsClaim, "MONOCLOUD_BACKEND_GROUPS_CLAIM", "groups")
	c.groupsMatchAll = r.Bool(o.GroupsMatchAll, "GroupsMatchAll", "MONOCLOUD_BACKEND_GROUPS_MATCH_ALL", false)
	c.clockSkew = r.duration(o.ClockSkew, "ClockSkew", "MONOCLOUD_BACKEND_CLOCK_SKEW", time.Second, 0)
	c.clockTolerance = r.duration(o.ClockTolerance, "ClockTolerance", "MONOCLOUD_BACKEND_CLOCK_TOLERANCE", time.Second, 60*time.Second)
	c.requireExp = r.Bool(o.RequireExp, "RequireExp", "MONOCLOUD_BACKEND_REQUIRE_EXP", true)
	c.strictType = r.Bool(o.StrictTokenType, "StrictTokenType", "MONOCLOUD_BACKEND_STRICT_TOKEN_TYPE", false)
	c.algs = r.algorithms(o.Algorithms)

	c.jwksTTL = r.duration(settings.Optional(o.JWKSCacheDuration), "JWKSCacheDuration", "MONOCLOUD_BACKEND_JWKS_CACHE_DURATION", time.Second, 300*time.Second)
	c.metadataTTL = r.duration(settings.Optional(o.MetadataCacheDuration), "MetadataCacheDuration", "MONOCLOUD_BACKEND_METADATA_CACHE_DURATION", time.Second, 300*time.Second)
	c.responseTimeout = r.duration(settings.Optional(o.ResponseTimeout), "ResponseTimeout", "MONOCLOUD_BACKEND_RESPONSE_TIMEOUT", time.Millisecond, 10*time.Second)
	if c.responseTimeout < time.Second {
		r.Fail("ResponseTimeout", "MONOCLOUD_BACKEND_RESPONSE_TIMEOUT", "must be at least 1s, got %v", c.responseTimeout)
	}
	c.introspectJWT = r.Bool(o.IntrospectJWTTokens, "IntrospectJWTTokens", "MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS", false)
	c.introspectionTTL = r.duration(o.IntrospectionCacheDuration, "IntrospectionCacheDuration", "MONOCLOUD_BACKEND_INTROSPECTION_CACHE_DURATION", time.Second, 300*time.Second)
	c.sharedCache = o.IntrospectionCache

	c.binding = CertificateBinding(r.String(string(o.CertificateBinding), "MONOCLOUD_BACKEND_VALIDATE_CERTIFICATE_BINDING", string(BindingWhenPresent)))
	if !slices.Contains([]CertificateBinding{BindingWhenPresent, BindingRequired, BindingIgnore}, c.binding) {
		r.Fail("CertificateBinding", "MONOCLOUD_BACKEND_VALIDATE_CERTIFICATE_BINDING", "must be when_present, required or dangerously_ignore, got %q", c.binding)
	}
	c.certificate = o.ClientCertificate
	if c.certificate == nil {
		c.certificate = TLSCertificate
	}
	c.dpop = DPoPMode(r.String(string(o.DPoP), "MONOCLOUD_BACKEND_DPOP", string(DPoPAllowed)))
	if !slices.Contains([]DPoPMode{DPoPAllowed, DPoPRequired, DPoPDisabled}, c.dpop) {
		r.Fail("DPoP", "MONOCLOUD_BACKEND_DPOP", "must be allowed, required or disabled, got %q", c.dpop)
	}
	c.dpopLifetime = r.duration(settings.Optional(o.DPoPProofLifetime), "DPoPProofLifetime", "MONOCLOUD_BACKEND_DPOP_PROOF_LIFETIME", time.Second, defaultProofLifetime)
	c.replay = o.DPoPReplayStore
	c.replaySize = r.Int(o.DPoPReplayCacheSize, "DPoPReplayCacheSize", "MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE", defaultReplayCacheSize)
	if c.replaySize <= 0 {
		r.Fail("DPoPReplayCacheSize", "MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE", "must be positive, got %d", c.replaySize)
		c.replaySize = defaultReplayCacheSize
	}
	c.nonces = o.DPoPNonces
	c.proxies = r.proxies(o.TrustedProxies)

	c.extractor = o.TokenExtractor
	c.allowQuery = o.AllowQueryToken
	c.maxTokenLength = cmpOr(o.MaxTokenLength, defaultMaxTokenLength)
	c.realm = r.String(o.Realm, "MONOCLOUD_BACKEND_REALM", "")
	c.resourceMeta = r.String(o.ResourceMetadata, "MONOCLOUD_BACKEND_RESOURCE_METADATA", "")
	if c.resourceMeta != "" {
		if u, err := url.Parse(c.resourceMeta); err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(c.resourceMeta, "\"\\ ") {
			r.Fail("ResourceMetadata", "MONOCLOUD_BACKEND_RESOURCE_METADATA", "must be an absolute URL, got %q", c.resourceMeta)
		}
	}
	if strings.ContainsAny(c.realm, "\"\\\r\n") {
		r.Fail("Realm", "MONOCLOUD_BACKEND_REALM", "must not contain quotes, backslashes or line breaks")
	}
	c.errorWriter = o.ErrorWriter
	if c.errorWriter == nil {
		c.errorWriter = WriteError
	}
	c.cacheSize = cmpOr(o.ClaimsCacheSize, defaultCacheSize)
	if o.MaxTokenLength < 0 || o.ClaimsCacheSize < 0 {
		r.Fail("MaxTokenLength", "", "MaxTokenLength and ClaimsCacheSize must not be negative")
	}

	c.httpClient = provider.NewHTTPClient(r.clientCertificate(o, c.authMethod), c.responseTimeout, r.String(o.UserAgent, "", "monocloud-auth-go-backend"))
	c.logger = o.Logger
	if c.logger == nil {
		c.logger = slog.Default()
	}
	c.onEvent = o.OnEvent
	if problems := r.Problems(); len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = &ValidationError{Field: p.Field, EnvVar: p.Variable, Message: p.Message}
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// clientAuth resolves the introspection client authentication.
func (r *resolver) clientAuth(c *config, method string) {
	m, err := opclient.ParseAuthMethod(method)
	if err != nil {
		r.Fail("ClientAuthMethod", "MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD", "%v", err)
		return
	}
	c.authMethod = m
	if c.assertionKey, err = m.ParseSecret(c.clientSecret); err != nil {
		r.Fail("ClientSecret", "MONOCLOUD_BACKEND_CLIENT_SECRET", "%v", err)
	}
	if c.clientID != "" && c.clientSecret == "" && !c.authMethod.MutualTLS() {
		r.Fail("ClientSecret", "MONOCLOUD_BACKEND_CLIENT_SECRET", "is required with ClientID for %s", method)
	}
}

// clientCertificate returns o.HTTPClient, presenting o.ClientAuthCertificate
// if it is set, which the mutual TLS methods alone use.
func (r *resolver) clientCertificate(o Options, method opclient.AuthMethod) *http.Client {
	const field = "ClientAuthCertificate"
	if o.ClientAuthCertificate == nil {
		return o.HTTPClient
	}
	if !method.MutualTLS() {
		r.Fail(field, "", "requires ClientAuthMethod tls_client_auth or self_signed_tls_client_auth, got %s", method)
		return o.HTTPClient
	}
	client, err := provider.WithClientCertificate(o.HTTPClient, o.ClientAuthCertificate)
	if err != nil {
		r.Fail(field, "", "%v", err)
	}
	return client
}

// algorithms resolves the JWS allow-list.
func (r *resolver) algorithms(v []string) []jose.SignatureAlgorithm {
	const field, env = "Algorithms", "MONOCLOUD_BACKEND_ALGORITHMS"
	v = r.List(v, env, strings.Join(defaultAlgorithms, " "))
	if len(v) == 0 {
		r.Fail(field, env, "must name at least one algorithm")
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(v))
	for _, a := range v {
		if !slices.Contains(defaultAlgorithms, a) && a != string(jose.EdDSA) {
			r.Fail(field, env, "%q is not an asymmetric JWS algorithm: use RS256-512, PS256-512, ES256-512 or EdDSA", a)
			continue
		}
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	return algs
}

// proxies resolves the trusted proxy addresses.
func (r *resolver) proxies(v []netip.Prefix) []netip.Prefix {
	const field, env = "TrustedProxies", "MONOCLOUD_BACKEND_TRUSTED_PROXIES"
	if v != nil {
		return v
	}
	var out []netip.Prefix
	for _, s := range r.List(nil, env, "") {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			r.Fail(field, env, "%q is neither an IP address nor a CIDR prefix", s)
		}
	}
	return out
}
