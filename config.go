package monocloud

import (
	"errors"
	"fmt"
	"log/slog"
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
// validated: every field holds its final value.
type config struct {
	issuer       string
	clientID     string
	clientSecret string
	authMethod   opclient.AuthMethod
	assertionKey *opclient.AssertionKey // for private_key_jwt
	appURL       *url.URL
	appRoot      string // AppURL as configured: where sign-in and sign-out return by default
	secrets      []string

	routes          Routes
	clockSkew       time.Duration
	responseTimeout time.Duration
	usePAR          bool
	requireProvider bool
	postLogoutURL   string
	federated       bool
	revokeOnSignOut bool
	userInfo        bool
	refetchUserInfo bool

	queryOverrides    bool // AllowQueryParamOverrides
	trustStoreID      string
	strictProfileSync bool
	clockTolerance    time.Duration

	authParams AuthParams
	resources  []Indicator

	sessionCookie  cookieConfig
	sliding        bool
	duration       time.Duration
	maxDuration    time.Duration
	store          SessionStore
	coordinator    Coordinator // Options.Coordinator, else the store if it is one
	stateCookie    cookieConfig
	stateDuration  time.Duration // State.Duration
	maxStates      int           // State.MaxConcurrent
	idTokenAlg     string
	filteredClaims []string
	groupsClaim    string
	userAgent      string
	httpClient     *http.Client
	logger         *slog.Logger
	opts           Options
}

// cookieConfig holds resolved cookie attributes.
type cookieConfig struct {
	name, path, domain string
	httpOnly, secure   bool
	persistent         bool
	sameSite           http.SameSite
}

var supportedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

const defaultFilteredClaims = "iss exp nbf aud nonce iat auth_time c_hash at_hash s_hash"

// minSecretLength is the shortest cookie secret accepted. Cookie keys are
// derived with HKDF, which is fast: the secret itself must resist guessing
// (MonoCloud's JavaScript SDK accepted 8 characters but ran PBKDF2 on
// every request).
const minSecretLength = 32

func resolve(o Options) (*config, error) {
	lookup := os.LookupEnv
	if o.IgnoreEnvironment {
		lookup = noEnvironment
	}
	r := newResolver(lookup)
	c := &config{opts: o}

	c.issuer = r.Issuer(o.TenantDomain, "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN")
	c.clientID = r.Required(o.ClientID, "ClientID", "MONOCLOUD_AUTH_CLIENT_ID")
	_, mutualTLS := mutualTLSMethods[r.String(o.ClientAuthMethod, "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD", "")]
	if o.ClientAssertionKey == nil && !mutualTLS {
		c.clientSecret = r.Required(o.ClientSecret, "ClientSecret", "MONOCLOUD_AUTH_CLIENT_SECRET")
	}
	c.authMethod, c.assertionKey = r.clientAuth(o, c.clientSecret)
	c.appURL = r.appURL(r.String(o.AppURL, "MONOCLOUD_AUTH_APP_URL", ""))
	if c.appURL != nil {
		c.appRoot = strings.TrimSpace(r.String(o.AppURL, "MONOCLOUD_AUTH_APP_URL", ""))
	}

	secret := r.Required(o.CookieSecret, "CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET")
	if secret != "" && len(secret) < minSecretLength {
		r.Fail("CookieSecret", "MONOCLOUD_AUTH_COOKIE_SECRET", "length must be at least %d characters long (use e.g. openssl rand -hex 32)", minSecretLength)
	}
	previous := r.List(o.PreviousCookieSecrets, "MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS", "")
	for _, p := range previous {
		if len(p) < minSecretLength {
			r.Fail("PreviousCookieSecrets", "MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS", "length must be at least %d characters long", minSecretLength)
		}
	}
	c.secrets = append([]string{secret}, previous...)

	c.routes = Routes{
		Callback:          r.route(o.Routes.Callback, "Routes.Callback", "MONOCLOUD_AUTH_CALLBACK_URL", "/api/auth/callback"),
		BackChannelLogout: r.route(o.Routes.BackChannelLogout, "Routes.BackChannelLogout", "MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL", "/api/auth/backchannel-logout"),
		SignIn:            r.route(o.Routes.SignIn, "Routes.SignIn", "MONOCLOUD_AUTH_SIGNIN_URL", "/api/auth/signin"),
		SignOut:           r.route(o.Routes.SignOut, "Routes.SignOut", "MONOCLOUD_AUTH_SIGNOUT_URL", "/api/auth/signout"),
		UserInfo:          r.route(o.Routes.UserInfo, "Routes.UserInfo", "MONOCLOUD_AUTH_USER_INFO_URL", "/api/auth/userinfo"),
	}

	c.clockSkew = r.Duration(o.ClockSkew, "ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", time.Second, 0)
	if c.clockSkew < 0 {
		r.Fail("ClockSkew", "MONOCLOUD_AUTH_CLOCK_SKEW", "must not be negative")
	}
	c.clockTolerance = r.Duration(o.ClockTolerance, "ClockTolerance", "MONOCLOUD_AUTH_CLOCK_TOLERANCE", time.Second, 60*time.Second)
	if c.clockTolerance < 0 {
		r.Fail("ClockTolerance", "MONOCLOUD_AUTH_CLOCK_TOLERANCE", "must not be negative")
	}
	c.responseTimeout = r.Duration(settings.Optional(o.ResponseTimeout), "ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", time.Millisecond, 10*time.Second)
	if c.responseTimeout < time.Second {
		r.Fail("ResponseTimeout", "MONOCLOUD_AUTH_RESPONSE_TIMEOUT", "must be at least 1s, got %v", c.responseTimeout)
	}
	c.usePAR = r.Bool(o.UsePAR, "UsePAR", "MONOCLOUD_AUTH_USE_PAR", false)
	c.requireProvider = r.Bool(o.RequireProvider, "RequireProvider", "MONOCLOUD_AUTH_REQUIRE_PROVIDER", false)
	if v := r.String(o.PostLogoutRedirectURI, "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI", ""); v != "" && c.appURL != nil {
		v = withLeadingSlash(v)
		if _, ok := returnurl.Resolve(c.appURL, v); !ok {
			r.Fail("PostLogoutRedirectURI", "MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI", "must be a path of the app or a URL on AppURL's origin, got %q", v)
		}
		c.postLogoutURL = v
	}
	c.federated = r.Bool(o.FederatedSignOut, "FederatedSignOut", "MONOCLOUD_AUTH_FEDERATED_SIGNOUT", true)
	c.revokeOnSignOut = r.Bool(o.RevokeTokensOnSignOut, "RevokeTokensOnSignOut", "MONOCLOUD_AUTH_REVOKE_TOKENS_ON_SIGNOUT", false)
	// The SDK renamed MONOCLOUD_AUTH_USER_INFO; the new name wins.
	c.userInfo = r.Bool(o.UserInfo, "UserInfo", "MONOCLOUD_AUTH_FETCH_USER_INFO", r.Bool(nil, "UserInfo", "MONOCLOUD_AUTH_USER_INFO", true))
	c.refetchUserInfo = r.Bool(o.RefetchUserInfo, "RefetchUserInfo", "MONOCLOUD_AUTH_REFETCH_USER_INFO", false)
	c.strictProfileSync = r.Bool(o.StrictProfileSync, "StrictProfileSync", "MONOCLOUD_AUTH_REFETCH_STRICT_PROFILE_SYNC", false)
	c.queryOverrides = r.Bool(o.AllowQueryParamOverrides, "AllowQueryParamOverrides", "MONOCLOUD_AUTH_ALLOW_QUERY_PARAM_OVERRIDES", true)

	c.authParams = o.DefaultAuthParams
	c.authParams.Scopes = r.scopes(r.String(o.DefaultAuthParams.Scopes, "MONOCLOUD_AUTH_SCOPES", "openid profile email"))
	c.authParams.Resource = r.resource(r.String(o.DefaultAuthParams.Resource, "MONOCLOUD_AUTH_RESOURCE", ""), "DefaultAuthParams.Resource", "MONOCLOUD_AUTH_RESOURCE")
	c.authParams.ACRValues = joinFields(c.authParams.ACRValues)
	if m := c.authParams.ResponseMode; m != "" && m != "query" && m != "form_post" {
		r.Fail("DefaultAuthParams.ResponseMode", "", "must be query or form_post, got %q", m)
	}
	for i, ind := range o.Resources {
		field := fmt.Sprintf("Resources[%d]", i)
		if strings.TrimSpace(ind.Resource) == "" {
			r.Fail(field, "", "Resource must not be empty")
			continue
		}
		ind.Resource = r.resource(ind.Resource, field, "")
		if ind.Scopes != "" {
			if joinFields(ind.Scopes) == "" {
				r.Fail(field, "", "Scopes must be a space-separated string")
			}
			ind.Scopes = joinFields(ind.Scopes)
		}
		c.resources = append(c.resources, ind)
	}

	secureDefault := c.appURL != nil && c.appURL.Scheme == "https"
	c.sessionCookie = r.cookie(o.Session.Cookie, "Session.Cookie", "MONOCLOUD_AUTH_SESSION_COOKIE_", "session", secureDefault, true)
	c.stateCookie = r.cookie(o.State.Cookie, "State.Cookie", "MONOCLOUD_AUTH_STATE_COOKIE_", "state", secureDefault, false)
	c.stateCookie.httpOnly = true
	c.stateCookie.persistent = false
	if cookieNamesCollide(c.sessionCookie.name, c.stateCookie.name) {
		r.Fail("State.Cookie.Name", "MONOCLOUD_AUTH_STATE_COOKIE_NAME", "must differ from the session cookie name, also across a '.' (the cookies are named <name>.<chunk> and <name>.<state>), got %q and session %q", c.stateCookie.name, c.sessionCookie.name)
	}
	c.stateDuration = r.Duration(settings.Optional(o.State.Duration), "State.Duration", "MONOCLOUD_AUTH_STATE_DURATION", time.Second, defaultStateDuration)
	if c.stateDuration < minStateDuration {
		r.Fail("State.Duration", "MONOCLOUD_AUTH_STATE_DURATION", "must be at least %v, got %v", minStateDuration, c.stateDuration)
	}
	c.maxStates = r.Int(o.State.MaxConcurrent, "State.MaxConcurrent", "MONOCLOUD_AUTH_STATE_MAX_CONCURRENT", defaultMaxStates)
	if c.maxStates < 1 || c.maxStates > maxMaxStates {
		r.Fail("State.MaxConcurrent", "MONOCLOUD_AUTH_STATE_MAX_CONCURRENT", "must be from 1 to %d, got %d", maxMaxStates, c.maxStates)
	}
	c.sliding = r.Bool(o.Session.Sliding, "Session.Sliding", "MONOCLOUD_AUTH_SESSION_SLIDING", false)
	c.duration = r.Duration(settings.Optional(o.Session.Duration), "Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", time.Second, 24*time.Hour)
	c.maxDuration = r.Duration(settings.Optional(o.Session.MaximumDuration), "Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", time.Second, 7*24*time.Hour)
	if c.duration < time.Second {
		r.Fail("Session.Duration", "MONOCLOUD_AUTH_SESSION_DURATION", "must be at least 1s")
	}
	if c.maxDuration <= c.duration {
		r.Fail("Session.MaximumDuration", "MONOCLOUD_AUTH_SESSION_MAX_DURATION", "must be greater than Session.Duration (%v), got %v", c.duration, c.maxDuration)
	}
	c.store = o.Session.Store
	c.coordinator = o.Coordinator
	if c.coordinator == nil {
		c.coordinator, _ = c.store.(Coordinator)
	}

	c.idTokenAlg = r.String(o.IDTokenSigningAlg, "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "RS256")
	if !slices.Contains(supportedAlgs, c.idTokenAlg) {
		r.Fail("IDTokenSigningAlg", "MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG", "must be one of %s, got %q", strings.Join(supportedAlgs, ", "), c.idTokenAlg)
	}
	c.filteredClaims = r.List(o.FilteredIDTokenClaims, "MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS", defaultFilteredClaims)
	c.groupsClaim = r.String(o.GroupsClaim, "MONOCLOUD_AUTH_GROUPS_CLAIM", "groups")
	c.userAgent = r.String(o.UserAgent, "", "monocloud-auth-go")
	c.logger = r.logger(o.Logger)
	base := o.HTTPClient
	if o.ClientCertificate != nil {
		if !c.authMethod.MutualTLS() {
			r.Fail("ClientCertificate", "", "requires ClientAuthMethod tls_client_auth or self_signed_tls_client_auth, got %s", c.authMethod)
		}
		var err error
		if base, err = withClientCertificate(base, o.ClientCertificate); err != nil {
			r.Fail("ClientCertificate", "", "%v", err)
		}
	}
	c.httpClient = provider.NewHTTPClient(base, c.responseTimeout, c.userAgent)
	c.trustStoreID = r.String(o.TrustStoreID, "MONOCLOUD_AUTH_TRUST_STORE_ID", "")

	if !o.IgnoreEnvironment {
		warnUnknownEnvVars(c.logger)
	}
	if errs := r.validationErrors(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// boolOr returns *v, or def when v is nil.
func boolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}
