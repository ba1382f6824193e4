package monocloud

import (
	"context"
	"errors"
	"strings"
)

// diagnose says what to fix for err, a failure of route rt, naming the
// configuration variable involved; "" when there is nothing to say.
func (c *Client) diagnose(rt route, err error) string {
	var (
		oe *OPError
		se *StoreError
		te *TokenError
	)
	switch {
	case errors.As(err, &se):
		return "the session store failed: check that it is reachable (Options.Session.Store, Options.Coordinator); the client keeps its session and may retry"
	case errors.Is(err, ErrProviderUnavailable):
		return "the provider cannot be reached: check MONOCLOUD_AUTH_TENANT_DOMAIN and that this host reaches it; requests retry on their own"
	case errors.Is(err, context.DeadlineExceeded):
		return "the provider did not answer within MONOCLOUD_AUTH_RESPONSE_TIMEOUT (" + c.cfg.opts.ResponseTimeout.String() + ")"
	case errors.As(err, &oe):
		return c.diagnoseOPError(rt, oe)
	case errors.As(err, &te) && strings.Contains(te.Message, "timestamp is in the future"):
		return "the ID token's times do not fit this server's clock: sync the clock, or allow for the difference with MONOCLOUD_AUTH_CLOCK_SKEW"
	}
	return ""
}

// diagnoseOPError is diagnose for an OAuth error of the provider.
func (c *Client) diagnoseOPError(rt route, oe *OPError) string {
	switch {
	case oe.Code == "invalid_client":
		return "the provider refused the client credentials: " + c.credentialsHint()
	case oe.Code == "unauthorized_client":
		return "the provider does not allow this client the grant: check MONOCLOUD_AUTH_CLIENT_ID and the application's grant types at the provider"
	case oe.Code == "invalid_redirect_uri" || mentionsRedirectURI(oe.Description):
		return "the provider refused the redirect URI: register " + c.appURL(c.cfg.opts.Routes.Callback) +
			" as a callback URL of the client, or set MONOCLOUD_AUTH_APP_URL (and MONOCLOUD_AUTH_CALLBACK_URL) to match the one registered; use one host spelling (localhost or 127.0.0.1) everywhere"
	case oe.Code == "invalid_grant" && rt.callback:
		return "the provider refused the authorization code (expired, already used, or redeemed with another redirect URI): if it repeats, check that MONOCLOUD_AUTH_APP_URL is the URL the browser uses"
	case oe.Code == "invalid_scope":
		return "the provider refused the scopes: check MONOCLOUD_AUTH_SCOPES against the scopes the client may request"
	case oe.Code == "invalid_target":
		return "the provider refused the resource: check MONOCLOUD_AUTH_RESOURCE and Options.Resources against the client's APIs"
	}
	return ""
}

// credentialsHint names what authenticates the client, by method.
func (c *Client) credentialsHint() string {
	switch {
	case c.cfg.assertionKey != nil:
		return "check MONOCLOUD_AUTH_CLIENT_ID and that the public key of Options.ClientAssertionKey is registered for the client (or the client auth method, MONOCLOUD_AUTH_CLIENT_AUTH_METHOD)"
	case c.cfg.authMethod.MutualTLS():
		return "check MONOCLOUD_AUTH_CLIENT_ID and Options.ClientCertificate (or the client auth method, MONOCLOUD_AUTH_CLIENT_AUTH_METHOD)"
	}
	return "check MONOCLOUD_AUTH_CLIENT_ID and MONOCLOUD_AUTH_CLIENT_SECRET (or the client auth method, MONOCLOUD_AUTH_CLIENT_AUTH_METHOD)"
}

// mentionsRedirectURI reports whether an error description is about the
// redirect URI.
func mentionsRedirectURI(description string) bool {
	d := strings.ToLower(description)
	return strings.Contains(d, "redirect_uri") || strings.Contains(d, "redirect uri")
}

// diagnosedError is an error with what to fix, as logged.
type diagnosedError struct {
	err error
	fix string
}

func (e *diagnosedError) Error() string { return e.err.Error() + "; " + e.fix }

// Unwrap returns the error diagnosed.
func (e *diagnosedError) Unwrap() error { return e.err }
