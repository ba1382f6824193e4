package monocloud

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNoSession is returned when a request carries no valid session: no
// cookie, a cookie that does not decrypt, or a session past its lifetime.
// It is also a *ValidationError.
var ErrNoSession error = &ValidationError{Message: "Session does not exist"}

// ErrNoRefreshToken is matched (errors.Is) by the error of GetTokens when
// the token must be refreshed and the session holds no refresh token (the
// provider issued none: request offline_access, or sign in again). It is a
// *ValidationError.
var ErrNoRefreshToken error = &ValidationError{Message: "Session does not contain refresh token"}

// ErrResourceNotRequested is matched (errors.Is) by the error of GetTokens
// for a resource that was not requested at sign-in (add it to
// Options.Resources or DefaultAuthParams.Resource). The error is a
// *ValidationError naming the resource, which wraps this one. No refresh is
// attempted: a provider would refuse it, and some consume the refresh token
// first.
var ErrResourceNotRequested error = &ValidationError{Message: "Resource was not requested at sign-in"}

// ErrInvalidState is matched (errors.Is) by the error of a callback whose
// state is missing, forged, expired or already used (the callback was
// replayed, or the sign-in started in another browser). The error is a
// *ValidationError; the callback answers 400 or calls OnError with it.
var ErrInvalidState error = &ValidationError{Message: "Invalid state"}

// ErrNoRequestContext is returned by the context forms of the helpers
// (GetTokens, Session, …) when ctx does not come from a request served under
// AuthMiddleware or Handler. Pass r.Context() of such a request, or use the
// (r) or (w, r) form. Routers whose handlers get their own context type
// must pass the request's: with gin, c.Request.Context() (a *gin.Context
// reaches it only when the engine's ContextWithFallback is set); with echo,
// c.Request().Context().
var ErrNoRequestContext = errors.New("monocloud: no request in context (gin: pass c.Request.Context() or set ContextWithFallback)")

// ErrProviderUnavailable is matched (errors.Is) by the errors of calls that
// need the OpenID provider while it cannot be reached: its discovery
// document or its JWKS could not be fetched (network failure, timeout, a 5xx
// answer). The error also wraps the cause, usually an *HTTPError. The auth
// routes answer 503 for it; retrying later may succeed.
var ErrProviderUnavailable = errors.New("monocloud: OpenID provider unavailable")

// providerUnavailable returns an error matching ErrProviderUnavailable and
// cause, whose text names the package once.
func providerUnavailable(cause error) error {
	return &unavailableError{cause: cause}
}

// unavailableError is ErrProviderUnavailable with its cause.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string {
	return ErrProviderUnavailable.Error() + ": " + causeText(e.cause)
}

// Unwrap returns ErrProviderUnavailable and the cause.
func (e *unavailableError) Unwrap() []error { return []error{ErrProviderUnavailable, e.cause} }

// causeText is the text of a wrapped error without the package's prefix,
// so that an error wrapping another of this package reads
// "monocloud: a: b", not "monocloud: a: monocloud: b".
func causeText(err error) string {
	return strings.TrimPrefix(err.Error(), "monocloud: ")
}

// ErrNoRevocationEndpoint is returned by Client.RevokeTokens when the
// provider's discovery document has no revocation_endpoint.
var ErrNoRevocationEndpoint error = &ValidationError{Message: "revocation_endpoint is not available in the issuer metadata"}

// ValidationError reports invalid configuration, invalid options passed to
// a helper, a failed state or callback check, or a missing session, refresh
// token or access token.
// Branch on the conditions with errors.Is and ErrNoSession,
// ErrNoRefreshToken, ErrResourceNotRequested or ErrInvalidState, not on
// Message.
type ValidationError struct {
	// Message describes the problem, e.g. "Session does not exist".
	Message string
	// Field and EnvVar name the offending option of Options and its
	// environment variable, for configuration errors; empty otherwise.
	Field  string
	EnvVar string
	// Err is the underlying cause, if any.
	Err error
}

func (e *ValidationError) Error() string {
	switch {
	case e.Field != "" && e.EnvVar != "":
		return fmt.Sprintf("monocloud: %s (%s): %s", e.Field, e.EnvVar, e.Message)
	case e.Field != "":
		return fmt.Sprintf("monocloud: %s: %s", e.Field, e.Message)
	}
	return "monocloud: " + e.Message
}

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// OPError is an OAuth 2.0 error answered by the OpenID provider: on the
// callback (error=…), from the token or PAR endpoint, or from userinfo.
type OPError struct {
	// Code is the OAuth error code, e.g. "invalid_grant" or "access_denied".
	Code string
	// Description is the provider's error_description, if any.
	Description string
	// StatusCode is the HTTP status of the provider's answer; 0 for errors
	// delivered through a browser redirect to the callback.
	StatusCode int
	// Raw is the provider's answer; nil for errors delivered through a
	// browser redirect.
	Raw *RawResponse
}

func (e *OPError) Error() string {
	if e.Description == "" {
		return "monocloud: provider error " + e.Code
	}
	return fmt.Sprintf("monocloud: provider error %s: %s", e.Code, e.Description)
}

// HTTPError reports a failed call to the provider: network failure or
// timeout, an unexpected status code, or a body that is not the expected
// JSON. Timeouts match errors.Is(err, context.DeadlineExceeded). A token
// endpoint that cannot be reached is an *HTTPError; ErrProviderUnavailable
// is for a provider whose discovery document or keys cannot be fetched.
type HTTPError struct {
	Message    string
	StatusCode int // 0 when no response was received
	Err        error
	// Raw is the provider's answer when the error was built from an error
	// status; nil otherwise.
	Raw *RawResponse
}

func (e *HTTPError) Error() string { return "monocloud: " + e.Message }

// Unwrap returns the underlying cause.
func (e *HTTPError) Unwrap() error { return e.Err }

// TokenError reports a token that failed validation (an ID token, a logout
// token, a signed userinfo answer), or that the userinfo endpoint refused.
type TokenError struct {
	// Code says why, as the SDK's codes do: CodeInvalidToken for a token
	// that failed validation or that the provider refused, or the
	// provider's own code (CodeInsufficientScope for a userinfo 403).
	Code    TokenErrorCode
	Message string
	Err     error
	// Raw is the provider's answer when the error was built from one.
	Raw *RawResponse
}

// TokenErrorCode is the code of a TokenError: the OAuth error code of
// RFC 6750 section 3.1 it stands for.
type TokenErrorCode string

// The codes of a TokenError that the package sets itself.
const (
	CodeInvalidToken      TokenErrorCode = "invalid_token"
	CodeInsufficientScope TokenErrorCode = "insufficient_scope"
)

// RawResponse is the provider's answer an error was built from, when it
// answered with an error status: what to log, or to show a support team.
type RawResponse struct {
	StatusCode int
	// Header is the answer's header, without Set-Cookie.
	Header http.Header
	// Body is the start of the answer's body, at most 4 KiB.
	Body []byte
}

func (e *TokenError) Error() string {
	if e.Err != nil {
		return "monocloud: " + e.Message + ": " + causeText(e.Err)
	}
	return "monocloud: " + e.Message
}

// Unwrap returns the underlying cause.
func (e *TokenError) Unwrap() error { return e.Err }

// StoreError reports a failure of the SessionStore (or its SessionLocker),
// or of the Coordinator.
// It is not "signed out": the session is left as it was, and the auth
// routes and the middleware answer 503 Service Unavailable (or call
// OnError), so that clients keep their session and retry.
type StoreError struct {
	// Op says what was being done, e.g. "reading the session".
	Op  string
	Err error
}

func (e *StoreError) Error() string {
	return "monocloud: session store: " + e.Op + ": " + causeText(e.Err)
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// storeError wraps a failure of the SessionStore or the Coordinator.
func storeError(op string, err error) error {
	return &StoreError{Op: op, Err: err}
}
