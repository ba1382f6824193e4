// Package monocloudtest is a test kit for applications that use package
// monocloud: it runs an in-process OpenID provider, so that a test can sign
// a user in to its own handlers, with no network and no MonoCloud account.
//
// A [Provider] serves discovery, the authorization endpoint (with PKCE, pushed
// authorization requests and the form_post response mode), the token
// endpoint (authorization_code and rotating refresh_token grants, resource
// indicators), userinfo, token revocation, RP-initiated logout and a JWKS,
// all on an [httptest.Server]. Tests drive the user's part of the flow with
// [Provider.Authorize], inject failures with [Provider.SetTokenFault] and
// friends, and inspect what the relying party sent with the recording
// accessors such as [Provider.LastTokenRequest].
//
// Tests of protected handlers need no sign-in flow: the application's
// Client mints the session cookies of any user and tokens with
// [github.com/monocloud/auth-go.Client.EncodeSession]. The Examples show
// both ways.
//
// All methods are safe for concurrent use.
package monocloudtest

import (
	"crypto"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Config configures a [Provider]. The zero value is ready to use.
type Config struct {
	// ClientID and ClientSecret are the credentials of the only registered
	// client. They default to "test-client" and "test-secret".
	ClientID, ClientSecret string

	// Subject is the sub claim of the signed-in user. It defaults to "user-1".
	Subject string

	// Claims are extra user claims, such as name, email or groups, included
	// in every ID token and userinfo response. They never override the
	// registered claims (iss, sub, aud, exp, iat, …).
	Claims map[string]any

	// AccessTokenTTL and IDTokenTTL are the lifetimes of issued tokens; both
	// default to one hour. The token response's expires_in is AccessTokenTTL
	// in seconds.
	AccessTokenTTL, IDTokenTTL time.Duration

	// DisableRotation keeps refresh tokens valid across uses and omits
	// refresh_token from refresh responses. By default a refresh token is
	// consumed by its first use and replaced by a new one, and replaying a
	// consumed refresh token revokes the whole grant.
	DisableRotation bool

	// ClientAuthMethod, if set, is the only client authentication method
	// the token, PAR and revocation endpoints accept, as if registered for
	// the client: client_secret_basic, client_secret_post,
	// client_secret_jwt or private_key_jwt. Empty accepts any of them
	// that the other fields let it verify.
	ClientAuthMethod string

	// ClientPublicKey verifies private_key_jwt client assertions: an
	// *rsa.PublicKey or an *ecdsa.PublicKey. Assertions signed with
	// HS256, HS384 or HS512 are verified with ClientSecret.
	ClientPublicKey crypto.PublicKey

	// OmitExpiresIn leaves expires_in out of token responses, which RFC
	// 6749 section 5.1 only recommends, as the OpenID conformance suite
	// does (rp-response_type-code).
	OmitExpiresIn bool

	// OpaqueAccessTokens issues access tokens that are random strings
	// instead of JWTs, so that a relying party cannot read their expiry.
	OpaqueAccessTokens bool

	// SignedUserinfo makes the userinfo endpoint answer a JWT signed with
	// the current key (application/jwt, OpenID Connect Core section
	// 5.3.2), with iss and aud, as the conformance test rp-userinfo-sig.
	SignedUserinfo bool

	// ResourceScopes, when set, lists the scopes each resource server
	// accepts. A token requested for resources listed here carries only
	// the scopes granted at them, as oidc-provider filters them, so its
	// scope may be empty.
	ResourceScopes map[string][]string

	// MTLSEndpointAliases and MTLSAdditionalEndpointAliases are published
	// as the discovery document's mtls_endpoint_aliases (RFC 8705 section
	// 5) and MonoCloud's mtls_additional_endpoint_aliases (by trust store
	// ID): endpoint names to URLs, for a test's own TLS endpoints. The
	// provider's endpoints themselves do not ask for client certificates.
	MTLSEndpointAliases           map[string]string
	MTLSAdditionalEndpointAliases map[string]map[string]string

	// Now is the provider's clock, used to issue and check every code and
	// token. It defaults to time.Now.
	Now func() time.Time

	// Users, if any, are the users a person picks from when the provider
	// is run by hand (as cmd/monocloud-dev does): the authorization
	// endpoint then answers with a sign-in page (see [User]). Subject and
	// Claims are unused then, and [Provider.Authorize] fails.
	Users []User

	// Listener, if set, is where the provider serves, such as a fixed
	// loopback port; the provider closes it. By default the provider
	// listens on a free loopback port.
	Listener net.Listener
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "test-client"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "test-secret"
	}
	if c.Subject == "" {
		c.Subject = "user-1"
	}
	c.Claims = maps.Clone(c.Claims)
	c.Users = slices.Clone(c.Users)
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = time.Hour
	}
	if c.IDTokenTTL == 0 {
		c.IDTokenTTL = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Provider is a fake OpenID provider listening on a local HTTP server.
// Create one with [NewProvider].
type Provider struct {
	cfg    Config
	srv    *httptest.Server
	closed chan struct{} // closed when the test ends, to cut fault delays short

	mu sync.Mutex // guards the fields below

	key            *signingKey
	assertionIDs   map[string]time.Time // jti of used client assertions, to their exp
	codes          map[string]*authCode
	pushed         map[string]*pushedRequest // by request_uri
	refreshTokens  map[string]*refreshToken
	accessTokens   map[string]*accessToken
	authorizeError *oauthError // for the next authorization request
	tokenFault     Fault
	userinfoFault  Fault
	discoveryFault Fault
	jwksFault      Fault
	idTokenEdit    func(claims map[string]any)
	api            apiState // tokens for APIs: see accesstoken.go

	// Recorded traffic.
	lastAuthorizeRequest url.Values
	lastTokenRequest     url.Values
	lastAuthMethod       string
	codeGrants           int
	refreshGrants        int
	reuseDetected        int
	jwksRequests         int
	userinfoRequests     int
	discoveryRequests    int
	endSessionRequests   []url.Values
}

// TestingT is the part of *testing.T, *testing.B and *testing.F that the
// kit uses, so that any test framework can drive it.
type TestingT interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// NewProvider starts a Provider configured by cfg. The server is closed when
// the test and all its subtests complete.
func NewProvider(t TestingT, cfg Config) *Provider {
	t.Helper()
	key, err := sharedKey()
	if err != nil {
		t.Fatalf("monocloudtest: %v", err)
	}
	p := &Provider{
		cfg:           cfg.withDefaults(),
		closed:        make(chan struct{}),
		key:           key,
		codes:         make(map[string]*authCode),
		pushed:        make(map[string]*pushedRequest),
		assertionIDs:  make(map[string]time.Time),
		refreshTokens: make(map[string]*refreshToken),
		accessTokens:  make(map[string]*accessToken),
		api:           apiState{opaque: make(map[string]map[string]any)},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+discoveryPath, p.serveDiscovery)
	mux.HandleFunc("GET "+authorizePath, p.serveAuthorize)
	mux.HandleFunc("POST "+authorizePath, p.serveAuthorize)
	mux.HandleFunc("POST "+parPath, p.servePAR)
	mux.HandleFunc("POST "+tokenPath, p.serveToken)
	mux.HandleFunc("GET "+userinfoPath, p.serveUserinfo)
	mux.HandleFunc("POST "+userinfoPath, p.serveUserinfo)
	mux.HandleFunc("POST "+revocationPath, p.serveRevocation)
	mux.HandleFunc("GET "+endSessionPath, p.serveEndSession)
	mux.HandleFunc("POST "+endSessionPath, p.serveEndSession)
	mux.HandleFunc("GET "+jwksPath, p.serveJWKS)
	mux.HandleFunc("POST "+introspectionPath, p.serveIntrospection)

	p.srv = httptest.NewUnstartedServer(mux)
	if cfg.Listener != nil {
		p.srv.Listener.Close()
		p.srv.Listener = cfg.Listener
	}
	p.srv.Start()
	t.Cleanup(func() {
		close(p.closed)
		p.srv.Close()
	})
	return p
}

// Issuer returns the provider's issuer identifier: the server's base URL,
// without a trailing slash. The discovery document is at
// Issuer()+"/.well-known/openid-configuration".
func (p *Provider) Issuer() string {
	return p.srv.URL
}

// Client returns an HTTP client configured for requests to the provider.
func (p *Provider) Client() *http.Client {
	return p.srv.Client()
}

// now returns the current time on the provider's clock.
func (p *Provider) now() time.Time {
	return p.cfg.Now()
}

// configuredUser returns the user of Config.Subject and Config.Claims.
func (p *Provider) configuredUser() User {
	return User{Subject: p.cfg.Subject, Claims: p.cfg.Claims}
}

// cloneValues returns a deep copy of v, or nil if v is nil.
func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	clone := make(url.Values, len(v))
	for name, values := range v {
		clone[name] = slices.Clone(values)
	}
	return clone
}
