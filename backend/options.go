package backend

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Options configures a Client. Zero fields are read from the
// MONOCLOUD_BACKEND_* environment variables named in their comments, then
// take the defaults of MonoCloud's backend SDK. Durations read from the
// environment are whole seconds (the response timeout: milliseconds) or Go
// durations such as "30s".
type Options struct {
	// TenantDomain is the issuer: a bare host gets https://, an explicit
	// http:// URL is kept (for a local provider).
	// MONOCLOUD_BACKEND_TENANT_DOMAIN. Required.
	TenantDomain string
	// Audience is the API's identifier, which every token's aud must
	// contain. MONOCLOUD_BACKEND_AUDIENCE. Required.
	Audience string
	// ClientID and ClientSecret authenticate the API to the introspection
	// endpoint; they are needed only for opaque tokens.
	// MONOCLOUD_BACKEND_CLIENT_ID, MONOCLOUD_BACKEND_CLIENT_SECRET. For
	// private_key_jwt the secret is a private JWK with kid and alg.
	ClientID, ClientSecret string
	// ClientAuthMethod is how the API authenticates for introspection:
	// client_secret_post (the default), client_secret_basic,
	// client_secret_jwt, private_key_jwt, tls_client_auth or
	// self_signed_tls_client_auth. The last two (RFC 8705 section 2)
	// authenticate with ClientAuthCertificate and send client_id alone, to
	// the provider's mtls_endpoint_aliases.introspection_endpoint, or its
	// introspection_endpoint if it publishes no alias (RFC 8705 section 5).
	// MONOCLOUD_BACKEND_CLIENT_AUTH_METHOD.
	ClientAuthMethod string
	// ClientAuthCertificate is the TLS client certificate of
	// tls_client_auth and self_signed_tls_client_auth, for which
	// ClientSecret is not needed. It is added to the transport of
	// HTTPClient (an *http.Transport, or http.DefaultTransport), as
	// monocloud.Options.ClientCertificate is. Without it, HTTPClient's
	// transport must present a certificate itself. (ClientCertificate is
	// the certificate of the requests the API receives.)
	ClientAuthCertificate *tls.Certificate
	// TrustStoreID takes the introspection endpoint of the TLS client
	// authentication methods from the provider's
	// mtls_additional_endpoint_aliases for this trust store, which must
	// publish it. MONOCLOUD_BACKEND_TRUST_STORE_ID.
	TrustStoreID string

	// GroupsClaim is the claim that holds the user's groups, as strings or
	// {id, name} objects. MONOCLOUD_BACKEND_GROUPS_CLAIM; default "groups".
	GroupsClaim string
	// GroupsMatchAll requires every group of ProtectOptions.Groups rather
	// than any. MONOCLOUD_BACKEND_GROUPS_MATCH_ALL; default false.
	GroupsMatchAll *bool

	// ClockSkew is added to the local clock before time claims are checked.
	// MONOCLOUD_BACKEND_CLOCK_SKEW; default 0.
	ClockSkew *time.Duration
	// ClockTolerance is the leeway of the exp, nbf and iat checks.
	// MONOCLOUD_BACKEND_CLOCK_TOLERANCE; default 60 s.
	ClockTolerance *time.Duration
	// RequireExp rejects JWTs without exp, as RFC 9068 requires; false
	// accepts them, as MonoCloud's SDK does. MONOCLOUD_BACKEND_REQUIRE_EXP;
	// default true.
	RequireExp *bool
	// StrictTokenType accepts only JWTs with typ at+jwt (RFC 9068); by
	// default typ JWT, application/at+jwt or none is accepted as well.
	// MONOCLOUD_BACKEND_STRICT_TOKEN_TYPE.
	StrictTokenType *bool
	// Algorithms are the JWS algorithms accepted for access tokens and DPoP
	// proofs; default RS256 to RS512, PS256 to PS512 and ES256 to ES512.
	// EdDSA may be added; none and HMAC never are.
	// MONOCLOUD_BACKEND_ALGORITHMS (space-separated).
	Algorithms []string

	// JWKSCacheDuration is how long the provider's keys are used before
	// they are refreshed (in the background, and kept while the provider
	// is down). MONOCLOUD_BACKEND_JWKS_CACHE_DURATION; default 300 s.
	JWKSCacheDuration time.Duration
	// MetadataCacheDuration is the same for the discovery document.
	// MONOCLOUD_BACKEND_METADATA_CACHE_DURATION; default 300 s.
	MetadataCacheDuration time.Duration
	// ResponseTimeout bounds each request to the provider.
	// MONOCLOUD_BACKEND_RESPONSE_TIMEOUT in milliseconds; default 10 s, at
	// least 1 s.
	ResponseTimeout time.Duration

	// IntrospectJWTTokens introspects JWTs as well instead of validating
	// them locally. MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS; default false.
	IntrospectJWTTokens *bool
	// IntrospectionCacheDuration caps how long an introspection result is
	// cached (never past the token's exp); 0 disables the cache.
	// MONOCLOUD_BACKEND_INTROSPECTION_CACHE_DURATION; default 300 s.
	IntrospectionCacheDuration *time.Duration
	// IntrospectionCache, if set, shares introspection results between
	// instances (redisstore.NewIntrospectionCache); the in-memory cache is
	// used in front of it. Its failures are logged, and the token is then
	// introspected.
	IntrospectionCache IntrospectionCache

	// CertificateBinding is how certificate-bound tokens (RFC 8705,
	// cnf.x5t#S256) are checked: when_present (the default), required or
	// dangerously_ignore. MONOCLOUD_BACKEND_VALIDATE_CERTIFICATE_BINDING.
	CertificateBinding CertificateBinding
	// ClientCertificate returns the client certificate of a request; nil
	// reads it from the TLS connection. See ForwardedCertificate for a
	// certificate that a TLS-terminating proxy forwards.
	ClientCertificate CertificateSource

	// DPoP is how DPoP-bound tokens (RFC 9449) are handled: DPoPAllowed
	// (the default), DPoPRequired or DPoPDisabled. MONOCLOUD_BACKEND_DPOP.
	DPoP DPoPMode
	// DPoPProofLifetime is how old a DPoP proof's iat may be (and, by the
	// clock tolerance, how far ahead). MONOCLOUD_BACKEND_DPOP_PROOF_LIFETIME;
	// default 60 s.
	DPoPProofLifetime time.Duration
	// DPoPReplayStore remembers the jti of DPoP proofs; nil keeps them in
	// memory, which protects one instance: share a store
	// (redisstore.NewReplayStore) between several.
	DPoPReplayStore ReplayStore
	// DPoPReplayCacheSize bounds the in-memory replay store: the proofs
	// of the last DPoPProofLifetime plus twice ClockTolerance (180 s by
	// default) it holds, about 200 bytes each. Beyond that many proofs
	// in that time, it evicts the oldest and refuses every proof issued
	// no later than the newest one it evicted (the client sends a fresh
	// proof), so that no evicted proof can be replayed.
	// MONOCLOUD_BACKEND_DPOP_REPLAY_CACHE_SIZE; default 100000.
	DPoPReplayCacheSize int
	// DPoPNonces, if set, makes proofs carry a nonce it issued (RFC 9449
	// section 9). See NewNonceSource.
	DPoPNonces NonceSource

	// TrustedProxies are the addresses of proxies whose forwarded headers
	// are believed for the htu check of DPoP proofs: Forwarded (proto and
	// host), X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Prefix
	// (the path prefix a proxy stripped: a client calls
	// https://api.example.com/orders-api/items, the server sees /items, the
	// proof names the former). From any other peer these headers are
	// ignored. A forwarded client certificate is not among them:
	// ForwardedCertificate takes its own list of proxies.
	// MONOCLOUD_BACKEND_TRUSTED_PROXIES (space-separated addresses or CIDR
	// prefixes).
	TrustedProxies []netip.Prefix

	// TokenExtractor, if set, returns the access token of a request
	// (sent as a Bearer token) instead of the Authorization header: an
	// empty token with a nil error falls back to the header. Its errors
	// are answered 401 invalid_token, as MonoCloud's SDK answers them.
	TokenExtractor func(r *http.Request) (string, error)
	// AllowQueryToken also reads the access_token query parameter
	// (RFC 6750 section 2.3), which leaks into logs: off by default.
	AllowQueryToken bool
	// MaxTokenLength bounds the token read from a request; default 8192.
	MaxTokenLength int

	// Realm is the realm of WWW-Authenticate challenges, if set.
	// MONOCLOUD_BACKEND_REALM.
	Realm string
	// ResourceMetadata is the URL of the API's protected resource metadata
	// (RFC 9728), sent as resource_metadata in challenges.
	// MONOCLOUD_BACKEND_RESOURCE_METADATA.
	ResourceMetadata string
	// ErrorWriter writes Protect's refusals; nil means WriteError.
	ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

	// ClaimsCacheSize bounds the cache of validated JWT claims and of
	// introspection results; default 10000 entries each.
	ClaimsCacheSize int

	// HTTPClient's transport sends the requests to the provider; its
	// Timeout is replaced by ResponseTimeout.
	HTTPClient *http.Client
	// UserAgent is the User-Agent of requests to the provider.
	UserAgent string
	// Logger receives the Client's events; nil means slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called with each event, as it is logged.
	OnEvent func(context.Context, Event)
}

// ProtectOptions are the requirements of one route.
type ProtectOptions struct {
	// Scopes are all required.
	Scopes []string
	// AnyScopes, if set, require at least one of them as well.
	AnyScopes []string
	// Groups require any of them (all with MatchAll).
	Groups []string
	// MatchAll requires every group of Groups; false defers to
	// Options.GroupsMatchAll.
	MatchAll bool
}
