package monocloud

import "slices"

// Options returns the options c runs with: those given to New, with the
// environment and the defaults applied and values normalized as New did
// (https:// added to a bare TenantDomain, routes with a leading slash,
// space-separated lists joined with single spaces). Every pointer field is
// set. It is a copy: changing it does not change c; the Logger, the
// Session.Store, the Coordinator, the hooks and a ClientAssertionKey's
// Signer are shared, not copied. It holds the secrets: do not log it.
func (c *Client) Options() Options {
	cfg := c.cfg
	o := cfg.opts // the hooks, Coordinator and what New keeps as given
	o.TenantDomain = cfg.issuer
	o.ClientID = cfg.clientID
	o.ClientSecret = cfg.clientSecret
	o.ClientAuthMethod = cfg.authMethod.String()
	if k := cfg.opts.ClientAssertionKey; k != nil {
		o.ClientAssertionKey = new(*k)
	}
	o.AppURL = cfg.appURL.String()
	o.CookieSecret = cfg.secrets[0]
	o.PreviousCookieSecrets = slices.Clone(cfg.secrets[1:])
	o.Routes = cfg.routes
	o.ClockSkew = new(cfg.clockSkew)
	o.ClockTolerance = new(cfg.clockTolerance)
	o.TrustStoreID = cfg.trustStoreID
	o.ResponseTimeout = cfg.responseTimeout
	o.UsePAR = new(cfg.usePAR)
	o.RequireProvider = new(cfg.requireProvider)
	o.PostLogoutRedirectURI = cfg.postLogoutURL
	o.FederatedSignOut = new(cfg.federated)
	o.RevokeTokensOnSignOut = new(cfg.revokeOnSignOut)
	o.UserInfo = new(cfg.userInfo)
	o.RefetchUserInfo = new(cfg.refetchUserInfo)
	o.StrictProfileSync = new(cfg.strictProfileSync)
	o.AllowQueryParamOverrides = new(cfg.queryOverrides)
	o.DefaultAuthParams = cfg.authParams
	if cfg.authParams.MaxAge != nil {
		o.DefaultAuthParams.MaxAge = new(*cfg.authParams.MaxAge)
	}
	o.Resources = slices.Clone(cfg.resources)
	o.Session = SessionOptions{
		Cookie:          cookieOptions(cfg.sessionCookie),
		Sliding:         new(cfg.sliding),
		Duration:        cfg.duration,
		MaximumDuration: cfg.maxDuration,
		Store:           cfg.store,
	}
	o.State = StateOptions{Cookie: cookieOptions(cfg.stateCookie), Duration: cfg.stateDuration, MaxConcurrent: cfg.maxStates}
	o.IDTokenSigningAlg = cfg.idTokenAlg
	o.FilteredIDTokenClaims = slices.Clone(cfg.filteredClaims)
	o.GroupsClaim = cfg.groupsClaim
	o.UserAgent = cfg.userAgent
	if cfg.opts.HTTPClient != nil {
		o.HTTPClient = new(*cfg.opts.HTTPClient)
	}
	o.Logger = cfg.logger
	return o
}

// cookieOptions returns resolved cookie attributes as CookieOptions.
func cookieOptions(c cookieConfig) CookieOptions {
	return CookieOptions{
		Name:       c.name,
		Path:       c.path,
		Domain:     c.domain,
		HTTPOnly:   new(c.httpOnly),
		Secure:     new(c.secure),
		SameSite:   c.sameSite,
		Persistent: new(c.persistent),
	}
}
