package monocloud

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Options configures a Client. A zero field is read from its MONOCLOUD_AUTH_*
// environment variable (named in each comment), and when that is unset it
// takes the default given there. Explicit fields win over the environment. New
// rejects an invalid configuration with a *ValidationError naming the field
// and its variable.
//
// Pointer fields (*bool, *time.Duration, *int) distinguish "unset" from an
// explicit false or zero: write new(false) or new(30*time.Second).
//
// Tests set IgnoreEnvironment, so that the MONOCLOUD_AUTH_* variables of the
// shell that runs them cannot change the configuration they set.
type Options struct {
	// IgnoreEnvironment makes New read no MONOCLOUD_AUTH_* variable: a zero
	// field takes its default, as if its variable were unset. Tests set it,
	// and so do programs that take their configuration from elsewhere.
	IgnoreEnvironment bool

	// TenantDomain is the provider's issuer (MONOCLOUD_AUTH_TENANT_DOMAIN).
	// A bare host such as "acme.us.monocloud.com" gets https://; an explicit
	// http:// URL is kept, for providers on loopback. Issuers that end in a
	// slash (as Auth0's do) work either way. Required.
	TenantDomain string
	// ClientID is the application's client ID (MONOCLOUD_AUTH_CLIENT_ID). Required.
	ClientID string
	// ClientSecret is the application's client secret
	// (MONOCLOUD_AUTH_CLIENT_SECRET). Required unless ClientAssertionKey is
	// set. With client_secret_jwt it keys HS256 and must be at least 32
	// bytes long; with private_key_jwt it holds a private RSA or EC JWK with
	// kid and alg (see ClientAssertionKey for the keys accepted).
	ClientSecret string
	// ClientAuthMethod is how the client authenticates at the token and PAR
	// endpoints (MONOCLOUD_AUTH_CLIENT_AUTH_METHOD): "client_secret_basic"
	// (the default), "client_secret_post", "client_secret_jwt",
	// "private_key_jwt" (the default when ClientAssertionKey is set),
	// "tls_client_auth" or "self_signed_tls_client_auth". The jwt methods
	// send a client assertion (RFC 7523) whose iss and sub are ClientID,
	// whose aud is the token endpoint, with a fresh jti and an exp 60
	// seconds after its iat. The tls methods authenticate with
	// ClientCertificate, at the provider's mtls_endpoint_aliases (see
	// TrustStoreID): New fails when the provider publishes no token
	// endpoint alias (nor a PAR one, with UsePAR), and a revocation without
	// its alias is skipped as without a revocation_endpoint.
	ClientAuthMethod string
	// ClientAssertionKey, if set, signs private_key_jwt client assertions
	// in place of a JWK in ClientSecret, which is then ignored.
	ClientAssertionKey *ClientAssertionKey
	// ClientCertificate is the TLS client certificate of the mutual TLS
	// methods tls_client_auth and self_signed_tls_client_auth (RFC 8705),
	// for which ClientSecret is not needed. It is added to the transport
	// of HTTPClient (an *http.Transport, or http.DefaultTransport), and so
	// presented on every call to the provider. Without it, HTTPClient's
	// transport must present a certificate itself.
	ClientCertificate *tls.Certificate
	// TrustStoreID, with a mutual TLS method, takes the endpoints from the
	// provider's mtls_additional_endpoint_aliases for this trust store
	// instead of its mtls_endpoint_aliases (MONOCLOUD_AUTH_TRUST_STORE_ID).
	TrustStoreID string
	// AppURL is the application's base URL, possibly with a base path, e.g.
	// https://example.org or https://example.org/app (MONOCLOUD_AUTH_APP_URL).
	// Redirects never leave its origin. Required.
	AppURL string
	// CookieSecret encrypts and authenticates the session and state cookies
	// (MONOCLOUD_AUTH_COOKIE_SECRET): at least 32 characters, such as 32
	// random bytes in hex. Required. The cookie keys are also bound to
	// TenantDomain and ClientID: another app with the same secret cannot
	// read this app's cookies, and changing either signs everyone out.
	CookieSecret string
	// PreviousCookieSecrets still decrypt cookies written before a secret
	// rotation; cookies they open are re-written with CookieSecret
	// (MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS, space-separated).
	PreviousCookieSecrets []string

	// Routes are the paths of the auth routes, relative to AppURL.
	Routes Routes

	// ClockSkew is how far the provider's clock is ahead of this server's,
	// added to the time against which ID and logout tokens are checked
	// (MONOCLOUD_AUTH_CLOCK_SKEW, seconds; default 0), as in the SDK.
	// It was the leeway before ClockTolerance.
	ClockSkew *time.Duration
	// ClockTolerance is the leeway allowed when checking ID and logout
	// token times, in both directions (MONOCLOUD_AUTH_CLOCK_TOLERANCE,
	// seconds; default 60s).
	ClockTolerance *time.Duration
	// ResponseTimeout bounds every HTTP call to the provider
	// (MONOCLOUD_AUTH_RESPONSE_TIMEOUT, milliseconds; default 10s, at least 1s).
	ResponseTimeout time.Duration
	// UsePAR sends authorization requests through Pushed Authorization
	// Requests (MONOCLOUD_AUTH_USE_PAR; default false).
	UsePAR *bool
	// RequireProvider makes New fail when the provider cannot be reached
	// (MONOCLOUD_AUTH_REQUIRE_PROVIDER; default false: discovery is retried
	// by the requests that need it, see New). Set it where a start-up that
	// cannot sign anyone in should stop the deploy.
	RequireProvider *bool
	// PostLogoutRedirectURI is where sign-out returns, relative to AppURL or
	// absolute on its origin (MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI;
	// default AppURL).
	PostLogoutRedirectURI string
	// FederatedSignOut also ends the session at the provider
	// (MONOCLOUD_AUTH_FEDERATED_SIGNOUT; default true).
	FederatedSignOut *bool
	// RevokeTokensOnSignOut also revokes the session's refresh token and
	// access tokens at the provider's revocation_endpoint (RFC 7009) on
	// sign-out (MONOCLOUD_AUTH_REVOKE_TOKENS_ON_SIGNOUT; default false).
	// It is skipped when the provider has no revocation_endpoint. A failed
	// revocation is logged and does not stop the sign-out.
	RevokeTokensOnSignOut *bool
	// UserInfo fetches the userinfo endpoint on callback and merges its claims
	// into the user (MONOCLOUD_AUTH_FETCH_USER_INFO, or its former name
	// MONOCLOUD_AUTH_USER_INFO; default true).
	UserInfo *bool
	// RefetchUserInfo refetches userinfo on the userinfo route and on token
	// refresh (MONOCLOUD_AUTH_REFETCH_USER_INFO; default false).
	RefetchUserInfo *bool
	// StrictProfileSync replaces the user, instead of merging into it, when
	// a refresh brings a new ID token or userinfo is refetched: the user is
	// built anew from the ID token's claims and the userinfo answer, so
	// claims the provider no longer sends are dropped
	// (MONOCLOUD_AUTH_REFETCH_STRICT_PROFILE_SYNC; default false).
	StrictProfileSync *bool
	// AllowQueryParamOverrides lets the auth routes' query parameters
	// override the options, as SignInURL and SignOutURL write them
	// (MONOCLOUD_AUTH_ALLOW_QUERY_PARAM_OVERRIDES; default true): sign-in's
	// return_url and authorization parameters, userinfo's refresh,
	// sign-out's post_logout_url and federated. Off, the routes ignore
	// their query.
	AllowQueryParamOverrides *bool

	// DefaultAuthParams are sent with every sign-in.
	DefaultAuthParams AuthParams
	// Resources are extra resource and scope sets requested at sign-in and
	// selectable in GetTokens with GetTokensOptions.Resource.
	Resources []Indicator

	// Session configures the session cookie and its lifetime.
	Session SessionOptions
	// State configures the short-lived cookie of each sign-in transaction.
	State StateOptions

	// IDTokenSigningAlg is the only algorithm accepted for ID and logout
	// tokens (MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG; default RS256).
	IDTokenSigningAlg string
	// FilteredIDTokenClaims are removed from the ID token claims before they
	// become the user (MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS, space-separated;
	// default "iss exp nbf aud nonce iat auth_time c_hash at_hash s_hash").
	FilteredIDTokenClaims []string
	// GroupsClaim is the user claim holding groups for group checks
	// (MONOCLOUD_AUTH_GROUPS_CLAIM; default "groups").
	GroupsClaim string
	// UserAgent is sent on every request to the provider (default
	// "monocloud-auth-go").
	UserAgent string

	// HTTPClient makes the calls to the provider; its transport is used and
	// ResponseTimeout is applied. Default: a client on http.DefaultTransport.
	HTTPClient *http.Client
	// Coordinator makes several instances of the application act as one:
	// refreshes run once across them and sign-outs and back-channel logouts
	// reach all of them (see Coordinator). Nil: this process only, unless
	// Session.Store implements Coordinator.
	Coordinator Coordinator
	// Logger receives the Client's events (see Event): routine ones at
	// Debug, failures at Warn and Error. Default slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, receives every event that is logged, as a typed
	// value, whatever the Logger's level: for metrics (see the
	// otelmonocloud module). It is called synchronously on the request's
	// or the refresh's goroutine, so it must not block; ctx is the
	// request's (a refresh is reported to the request that started it),
	// or detached from it for a refresh whose request stopped waiting and
	// for background work.
	OnEvent func(ctx context.Context, e Event)

	// OnSessionCreating may change a session before it is saved: at
	// callback (with the ID token claims, the userinfo and the application
	// state), on token refresh and on userinfo refetch. An error aborts the
	// operation. At callback and userinfo refetch its ctx is the request's.
	// On token refresh it runs once for every request that shares the
	// refresh, detached from them: its ctx keeps the values of the request
	// that started the refresh but carries no request state, so the
	// Client's request helpers (Session, GetTokens, …) answer
	// ErrNoRequestContext there.
	OnSessionCreating func(ctx context.Context, s *Session, idTokenClaims, userInfo, appState map[string]any) error
	// OnSetApplicationState returns data kept in the state cookie during
	// sign-in and handed back to OnSessionCreating.
	OnSetApplicationState func(r *http.Request) (map[string]any, error)
	// OnBackChannelLogout is called after a valid logout token was received
	// and the matching sessions were ended. When nil the back-channel
	// logout route still ends sessions.
	OnBackChannelLogout func(ctx context.Context, sub, sid string) error
	// OnError handles errors of the auth routes (for example an *OPError on
	// the callback), served by Handler or AuthMiddleware; a handler made
	// with its own OnError (SignInOptions and the others) uses that one
	// instead. When nil, the answer is a small HTML page (JSON for a
	// client that asked for it) with a way forward and no error details:
	// 400 for a request that fails a check, 502 for a provider's refusal
	// or unusable answer, 503 with Retry-After when the provider or the
	// store cannot be reached, 504 for a provider timeout. The log line
	// names the cause and, when known, the variable to fix.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// Routes are the paths served by Client.Handler and the middleware.
type Routes struct {
	Callback          string // MONOCLOUD_AUTH_CALLBACK_URL, default /api/auth/callback
	BackChannelLogout string // MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL, default /api/auth/backchannel-logout
	SignIn            string // MONOCLOUD_AUTH_SIGNIN_URL, default /api/auth/signin
	SignOut           string // MONOCLOUD_AUTH_SIGNOUT_URL, default /api/auth/signout
	UserInfo          string // MONOCLOUD_AUTH_USER_INFO_URL, default /api/auth/userinfo
}

// AuthParams are authorization request parameters. Options.DefaultAuthParams
// sends them with every sign-in; SignInURL and RedirectToSignIn pass them
// to the sign-in route for one sign-in, where each one set replaces its
// default. Lists (Scopes, Resource, ACRValues) are space-separated, as in
// the protocol.
type AuthParams struct {
	// Scopes must contain openid (MONOCLOUD_AUTH_SCOPES; default "openid
	// profile email"). The default scopes are requested together with those
	// of Options.Resources; the scopes of one sign-in replace them all.
	Scopes string
	// Resource is the resource indicator(s): absolute URLs without query or
	// fragment (MONOCLOUD_AUTH_RESOURCE). The default resource is also the
	// one GetTokens uses without GetTokensOptions.Resource.
	Resource string
	// ResponseMode is "query" (default) or "form_post". It is read from
	// DefaultAuthParams only: SignInURL leaves it out.
	ResponseMode string
	// Prompt, Display and the others are sent as they are: any string,
	// for values the provider defines beyond the specification's.
	Prompt            string
	Display           string
	UILocales         string
	LoginHint         string
	AuthenticatorHint string
	ACRValues         string
	// MaxAge is the max_age parameter in seconds; auth_time is then checked.
	MaxAge *int
	// Audience is the audience parameter, which some providers use to
	// choose the access token's audience.
	Audience string
	// IDTokenHint is the id_token_hint parameter: an ID token the
	// provider issued, naming the user expected to sign in. SignInURL
	// leaves it out (it is long, and the sign-in route does not read it).
	IDTokenHint string
}

// Indicator is a resource (space-separated URLs) and the scopes to request
// for it.
type Indicator struct{ Resource, Scopes string }

// SessionOptions configures the session.
type SessionOptions struct {
	// Cookie configures the session cookie; its name defaults to "session".
	Cookie CookieOptions
	// Sliding extends the session on activity, up to MaximumDuration
	// (MONOCLOUD_AUTH_SESSION_SLIDING; default false).
	Sliding *bool
	// Duration is the session lifetime, or the idle timeout when sliding
	// (MONOCLOUD_AUTH_SESSION_DURATION, seconds; default 24h).
	Duration time.Duration
	// MaximumDuration bounds every session; must exceed Duration
	// (MONOCLOUD_AUTH_SESSION_MAX_DURATION, seconds; default 7 days).
	MaximumDuration time.Duration
	// Store keeps sessions server-side; the cookie then holds only a key.
	Store SessionStore
}

// StateOptions configures the cookie of each sign-in transaction. It is
// always HttpOnly, lives for Duration (15 minutes by default) and is
// deleted on callback.
type StateOptions struct {
	// Cookie configures the state cookies; the name defaults to "state".
	// HTTPOnly and Persistent are ignored.
	Cookie CookieOptions
	// Duration is how long a sign-in may take, from the sign-in route to
	// the callback (MONOCLOUD_AUTH_STATE_DURATION, seconds; default 900s,
	// at least 300s).
	Duration time.Duration
	// MaxConcurrent is how many sign-ins one browser may have under way,
	// one state cookie each; past it the oldest is dropped
	// (MONOCLOUD_AUTH_STATE_MAX_CONCURRENT, 1 to 20; default 5).
	MaxConcurrent int
}

// CookieOptions are cookie attributes. The session cookie reads
// MONOCLOUD_AUTH_SESSION_COOKIE_*, the state cookie
// MONOCLOUD_AUTH_STATE_COOKIE_* (NAME, PATH, DOMAIN, HTTP_ONLY, SECURE,
// SAME_SITE, PERSISTENT).
type CookieOptions struct {
	Name   string
	Path   string // default "/"
	Domain string
	// HTTPOnly defaults to true.
	HTTPOnly *bool
	// Secure defaults to whether AppURL is https; it must be true then.
	Secure *bool
	// SameSite defaults to http.SameSiteLaxMode. SameSiteNoneMode needs Secure.
	SameSite http.SameSite
	// Persistent sets Expires on the session cookie (default true).
	Persistent *bool
}

// Options returns the options c runs with: those given to New, with the
// environment and the defaults applied and values normalized as New did
// (https:// added to a bare TenantDomain, routes with a leading slash,
// space-separated lists joined with single spaces). Every pointer field
// that has a default is set. It is a copy: changing it does not change c;
// the Logger, the Session.Store, the Coordinator, the hooks and a
// ClientAssertionKey's Signer are shared, not copied. It holds the
// secrets: do not log it.
func (c *Client) Options() Options { return c.cfg.opts.clone() }

// clone returns a copy of o that shares no slice, and no value pointed to,
// with o: the caller's later changes do not reach the copy. Nil pointers
// stay nil. The Logger, the Session.Store, the Coordinator, the hooks, the
// ClientCertificate and a ClientAssertionKey's Signer are shared, not
// copied.
func (o Options) clone() Options {
	o.ClientAssertionKey = clonePointer(o.ClientAssertionKey)
	o.PreviousCookieSecrets = slices.Clone(o.PreviousCookieSecrets)
	o.ClockSkew = clonePointer(o.ClockSkew)
	o.ClockTolerance = clonePointer(o.ClockTolerance)
	o.UsePAR = clonePointer(o.UsePAR)
	o.RequireProvider = clonePointer(o.RequireProvider)
	o.FederatedSignOut = clonePointer(o.FederatedSignOut)
	o.RevokeTokensOnSignOut = clonePointer(o.RevokeTokensOnSignOut)
	o.UserInfo = clonePointer(o.UserInfo)
	o.RefetchUserInfo = clonePointer(o.RefetchUserInfo)
	o.StrictProfileSync = clonePointer(o.StrictProfileSync)
	o.AllowQueryParamOverrides = clonePointer(o.AllowQueryParamOverrides)
	o.DefaultAuthParams.MaxAge = clonePointer(o.DefaultAuthParams.MaxAge)
	o.Resources = slices.Clone(o.Resources)
	o.Session.Cookie = o.Session.Cookie.clone()
	o.Session.Sliding = clonePointer(o.Session.Sliding)
	o.State.Cookie = o.State.Cookie.clone()
	o.FilteredIDTokenClaims = slices.Clone(o.FilteredIDTokenClaims)
	o.HTTPClient = clonePointer(o.HTTPClient)
	return o
}

// clone returns a copy of cookie attributes o.
func (o CookieOptions) clone() CookieOptions {
	o.HTTPOnly = clonePointer(o.HTTPOnly)
	o.Secure = clonePointer(o.Secure)
	o.Persistent = clonePointer(o.Persistent)
	return o
}

// clonePointer returns a pointer to a copy of *p, or nil for nil.
func clonePointer[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return new(*p)
}
