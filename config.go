package monocloud

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/internal/returnurl"
	"github.com/monocloud/auth-go/internal/settings"
)

// config is Options resolved against the environment and the defaults, and
// validated, with the forms of its values that the requests use.
type config struct {
	// opts holds every final value, normalized, with every pointer field
	// that has a default set: what Client.Options returns a copy of.
	opts Options

	appURL       *url.URL               // opts.AppURL, parsed
	appRoot      string                 // AppURL as configured: where sign-in and sign-out return by default
	authMethod   opclient.AuthMethod    // opts.ClientAuthMethod, parsed
	assertionKey *opclient.AssertionKey // for private_key_jwt
	coordinator  Coordinator            // opts.Coordinator, else the store if it is one
	httpClient   *http.Client           // opts.HTTPClient with the client certificate, ResponseTimeout and UserAgent
}

var supportedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

const defaultFilteredClaims = "iss exp nbf aud nonce iat auth_time c_hash at_hash s_hash"

// minSecretLength is the shortest cookie secret accepted. Cookie keys are
// derived with HKDF, which is fast: the secret itself must resist guessing
// (MonoCloud's JavaScript SDK accepted 8 characters but ran PBKDF2 on
// every request).
const minSecretLength = 32

// resolve returns the config of given: each field of Options replaced by
// its final value, every problem found reported. It works on a clone of
// given: the caller's later changes do not reach the Client.
func resolve(given Options) (*config, error) {
	lookup := os.LookupEnv
	if given.IgnoreEnvironment {
		lookup = noEnvironment
	}
	r := newResolver(lookup)
	c := &config{opts: given.clone()}
	o := &c.opts // resolved field by field, in place

	o.TenantDomain = r.Issuer(o.TenantDomain, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN")
	o.ClientID = r.Required(o.ClientID, "ClientID", "MONOCLOUD_AUTH_CLIENT_ID")
	authMethod := r.String(o.ClientAuthMethod, "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD", "")
	if o.ClientAssertionKey == nil && !mutualTLS(authMethod) {
		o.ClientSecret = r.Required(o.ClientSecret, "ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET")
	} else {
		o.ClientSecret = "" // the key or the certificate authenticates the client
	}
	c.authMethod, c.assertionKey = r.clientAuth(authMethod, o.ClientAssertionKey, o.ClientSecret)
	o.ClientAuthMethod = c.authMethod.String()
	appURL := r.String(o.AppURL, "MONOCLOUD_AUTH_APP_URL", "")
	if c.appURL = r.appURL(appURL); c.appURL != nil {
		o.AppURL = c.appURL.String()
		c.appRoot = strings.TrimSpace(appURL)
	}

	o.CookieSecret = r.Required(o.CookieSecret, "CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET")
	if o.CookieSecret != "" && len(o.CookieSecret) < minSecretLength {
		r.Fail("CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET", "length must be at least %d characters long (use e.g. openssl rand -hex 32)", minSecretLength)
	}
	o.PreviousCookieSecrets = r.List(o.PreviousCookieSecrets, "MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS", "")
	for _, p := range o.PreviousCookieSecrets {
		if len(p) < minSecretLength {
			r.Fail("PreviousCookieSecrets", "MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS", "length must be at least %d characters long", minSecretLength)
		}
	}

	o.Routes = Routes{
		Callback:          r.route(o.Routes.Callback, "Routes.Callback", "MONOCLOUD_AUTH_CALLBACK_URL", "/api/auth/callback"),
		BackChannelLogout: r.route(o.Routes.BackChannelLogout, "Routes.BackChannelLogout", "MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL", "/api/auth/backchannel-logout"),
		SignIn:            r.route(o.Routes.SignIn, "Routes.SignIn", "MONOCLOUD_AUTH_SIGNIN_URL", "/api/auth/signin"),
		SignOut:           r.route(o.Routes.SignOut, "Routes.SignOut", "MONOCLOUD_AUTH_SIGNOUT_URL", "/api/auth/signout"),
		UserInfo:          r.route(o.Routes.UserInfo, "Routes.UserInfo", "MONOCLOUD_AUTH_USER_INFO_URL", "/api/auth/userinfo"),
	}

	o.ClockSkew = new(r.Duration(o.ClockSkew, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", time.Second, 0))
	if *o.ClockSkew < 0 {
		r.Fail("ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", "must not be negative")
	}
	o.ClockTolerance = new(r.Duration(o.ClockTolerance, "ClockTolerance", "MONOCLOUD_AUTH_CLOCK_TOLERANCE", time.Second, 60*time.Second))
	if *o.ClockTolerance < 0 {
		r.Fail("ClockTolerance", "MONOCLOUD_AUTH_CLOCK_TOLERANCE", "must not be negative")
	}
	o.ResponseTimeout = r.Duration(settings.Optional(o.ResponseTimeout), "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", time.Millisecond, 10*time.Second)
	if o.ResponseTimeout < time.Second {
		r.Fail("ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "must be at least 1s, got %v", o.ResponseTimeout)
	}
	o.UsePAR = new(r.Bool(o.UsePAR, "UsePAR", "MONOCLOUD_AUTH_USE_PAR", false))
	o.RequireProvider = new(r.Bool(o.RequireProvider, "RequireProvider", "MONOCLOUD_AUTH_REQUIRE_PROVIDER", false))
	o.PostLogoutRedirectURI = withLeadingSlash(r.String(o.PostLogoutRedirectURI, "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI", ""))
	if v := o.PostLogoutRedirectURI; v != "" && c.appURL != nil {
		if _, ok := returnurl.Resolve(c.appURL, v); !ok {
			r.Fail("PostLogoutRedirectURI", "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI", "must be a path of the app or a URL on AppURL's origin, got %q", v)
		}
	}
	o.FederatedSignOut = new(r.Bool(o.FederatedSignOut, "FederatedSignOut", "MONOCLOUD_AUTH_FEDERATED_SIGNOUT", true))
	o.RevokeTokensOnSignOut = new(r.Bool(o.RevokeTokensOnSignOut, "RevokeTokensOnSignOut", "MONOCLOUD_AUTH_REVOKE_TOKENS_ON_SIGNOUT", false))
	// The SDK renamed MONOCLOUD_AUTH_USER_INFO; the new name wins.
	o.UserInfo = new(r.Bool(o.UserInfo, "UserInfo", "MONOCLOUD_AUTH_FETCH_USER_INFO", r.Bool(nil, "UserInfo", "MONOCLOUD_AUTH_USER_INFO", true)))
	o.RefetchUserInfo = new(r.Bool(o.RefetchUserInfo, "RefetchUserInfo", "MONOCLOUD_AUTH_REFETCH_USER_INFO", false))
	o.StrictProfileSync = new(r.Bool(o.StrictProfileSync, "StrictProfileSync", "MONOCLOUD_AUTH_REFETCH_STRICT_PROFILE_SYNC", false))
	o.AllowQueryParamOverrides = new(r.Bool(o.AllowQueryParamOverrides, "AllowQueryParamOverrides", "MONOCLOUD_AUTH_ALLOW_QUERY_PARAM_OVERRIDES", true))

	p := &o.DefaultAuthParams
	p.Scopes = r.scopes(r.String(p.Scopes, "MONOCLOUD_AUTH_SCOPES", "openid profile email"))
	p.Resource = r.resource(r.String(p.Resource, "MONOCLOUD_AUTH_RESOURCE", ""), "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE")
	p.ACRValues = joinFields(p.ACRValues)
	if m := p.ResponseMode; m != "" && m != "query" && m != "form_post" {
		r.Fail("DefaultAuthParams.ResponseMode", "", "must be query or form_post, got %q", m)
	}
	o.Resources = r.indicators(o.Resources)

	secureDefault := c.appURL != nil && c.appURL.Scheme == "https"
	o.Session.Cookie = r.cookie(o.Session.Cookie, "Session.Cookie", "MONOCLOUD_AUTH_SESSION_COOKIE_", "session", secureDefault, true)
	o.State.Cookie = r.cookie(o.State.Cookie, "State.Cookie", "MONOCLOUD_AUTH_STATE_COOKIE_", "state", secureDefault, false)
	o.State.Cookie.HTTPOnly = new(true)
	o.State.Cookie.Persistent = new(false)
	if session, state := o.Session.Cookie.Name, o.State.Cookie.Name; cookieNamesCollide(session, state) {
		r.Fail("State.Cookie.Name", "MONOCLOUD_AUTH_STATE_COOKIE_NAME", "must differ from the session cookie name, also across a '.' (the cookies are named <name>.<chunk> and <name>.<state>), got %q and session %q", state, session)
	}
	o.State.Duration = r.Duration(settings.Optional(o.State.Duration), "State.Duration", "MONOCLOUD_AUTH_STATE_DURATION", time.Second, defaultStateDuration)
	if o.State.Duration < minStateDuration {
		r.Fail("State.Duration", "MONOCLOUD_AUTH_STATE_DURATION", "must be at least %v, got %v", minStateDuration, o.State.Duration)
	}
	o.State.MaxConcurrent = r.Int(o.State.MaxConcurrent, "State.MaxConcurrent", "MONOCLOUD_AUTH_STATE_MAX_CONCURRENT", defaultMaxStates)
	if n := o.State.MaxConcurrent; n < 1 || n > maxMaxStates {
		r.Fail("State.MaxConcurrent", "MONOCLOUD_AUTH_STATE_MAX_CONCURRENT", "must be from 1 to %d, got %d", maxMaxStates, n)
	}
	s := &o.Session
	s.Sliding = new(r.Bool(s.Sliding, "Session.Sliding", "MONOCLOUD_AUTH_SESSION_SLIDING", false))
	s.Duration = r.Duration(settings.Optional(s.Duration), "Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", time.Second, 24*time.Hour)
	s.MaximumDuration = r.Duration(settings.Optional(s.MaximumDuration), "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", time.Second, 7*24*time.Hour)
	if s.Duration < time.Second {
		r.Fail("Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", "must be at least 1s")
	}
	if s.MaximumDuration <= s.Duration {
		r.Fail("Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater than Session.Duration (%v), got %v", s.Duration, s.MaximumDuration)
	}
	c.coordinator = o.Coordinator
	if c.coordinator == nil {
		c.coordinator, _ = s.Store.(Coordinator)
	}

	o.IDTokenSigningAlg = r.String(o.IDTokenSigningAlg, "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "RS256")
	if !slices.Contains(supportedAlgs, o.IDTokenSigningAlg) {
		r.Fail("IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "must be one of %s, got %q", strings.Join(supportedAlgs, ", "), o.IDTokenSigningAlg)
	}
	o.FilteredIDTokenClaims = r.List(o.FilteredIDTokenClaims, "MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS", defaultFilteredClaims)
	o.GroupsClaim = r.String(o.GroupsClaim, "MONOCLOUD_AUTH_GROUPS_CLAIM", "groups")
	o.UserAgent = r.String(o.UserAgent, "", "monocloud-auth-go")
	o.Logger = r.logger(o.Logger)
	base := o.HTTPClient
	if o.ClientCertificate != nil {
		if !c.authMethod.MutualTLS() {
			r.Fail("ClientCertificate", "", "requires ClientAuthMethod tls_client_auth or self_signed_tls_client_auth, got %s", c.authMethod)
		}
		var err error
		if base, err = provider.WithClientCertificate(base, o.ClientCertificate); err != nil {
			r.Fail("ClientCertificate", "", "%v", err)
		}
	}
	c.httpClient = provider.NewHTTPClient(base, o.ResponseTimeout, o.UserAgent)
	o.TrustStoreID = r.String(o.TrustStoreID, "MONOCLOUD_AUTH_TRUST_STORE_ID", "")

	if !o.IgnoreEnvironment {
		warnUnknownEnvVars(o.Logger)
	}
	if errs := r.validationErrors(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// cookieSecrets returns CookieSecret followed by PreviousCookieSecrets: the
// keys of the cookie codecs, the first one sealing.
func (c *config) cookieSecrets() []string {
	return append([]string{c.opts.CookieSecret}, c.opts.PreviousCookieSecrets...)
}

// expiry returns when a session with lifetime l ends: Duration after its
// creation, or after its last update when sliding, never beyond
// MaximumDuration after creation.
func (c *config) expiry(l lifetime) int64 {
	s := &c.opts.Session
	limit := l.C + int64(s.MaximumDuration/time.Second)
	if !*s.Sliding {
		return min(l.C+int64(s.Duration/time.Second), limit)
	}
	return min(l.U+int64(s.Duration/time.Second), limit)
}

// valid reports whether a session with lifetime l is still alive at now.
// Duration applies to non-persistent cookies too.
func (c *config) valid(l lifetime, now int64) bool {
	return l.C <= now+60 && c.expiry(l) >= now
}

// boolOr returns *v, or def when v is nil.
func boolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}
