package backend

import (
	"errors"
	"net/http"
	"time"
)

// The conditions a request or token is refused for. Every error of
// ValidateRequest and ValidateAccessToken is an *Error that matches
// (errors.Is) exactly one of them; StatusOf maps them to HTTP statuses.
var (
	// ErrNoToken: the request carries no access token (401).
	ErrNoToken = errors.New("backend: no access token")
	// ErrInvalidToken: the token is invalid, expired, inactive, for
	// another issuer or audience, badly signed, or DPoP-bound but sent
	// as a Bearer token (401 invalid_token).
	ErrInvalidToken = errors.New("backend: invalid access token")
	// ErrInvalidRequest: the request is malformed, such as two tokens or
	// a token that is not a token68 (400 invalid_request).
	ErrInvalidRequest = errors.New("backend: malformed request")
	// ErrInvalidDPoPProof: the DPoP proof is missing or invalid
	// (401 invalid_dpop_proof).
	ErrInvalidDPoPProof = errors.New("backend: invalid DPoP proof")
	// ErrUseDPoPNonce: the DPoP proof lacks the nonce the server requires
	// (401 use_dpop_nonce, with a DPoP-Nonce header).
	ErrUseDPoPNonce = errors.New("backend: DPoP nonce required")
	// ErrInsufficientScope: the token lacks a required scope or group
	// (403 insufficient_scope).
	ErrInsufficientScope = errors.New("backend: insufficient scope")
	// ErrUnavailable: the authorization server could not be reached and
	// nothing cached can answer, or the token names a key the cached keys
	// lack while they may not be refetched yet (503, with Retry-After).
	ErrUnavailable = errors.New("backend: authorization server unavailable")
	// ErrMisconfigured: the configuration is wrong, as the authorization
	// server's answers prove (500). It is never caused by a client.
	ErrMisconfigured = errors.New("backend: configuration error")
)

// Error is a refused request or token.
type Error struct {
	// Code is one of the Err* conditions.
	Code error
	// Reason says why, in a few words fit for logs and metrics, such as
	// "expired", "audience" or "bad_signature". It never holds a token.
	Reason string
	// Scheme is the authorization scheme of the request: "Bearer" or
	// "DPoP".
	Scheme string
	// MissingScopes are the required scopes the token lacks, for the
	// scope of the challenge (RFC 6750 section 3): those of
	// ProtectOptions.Scopes and, if it has none of ProtectOptions.AnyScopes,
	// the first of those, as a token with these scopes would be accepted
	// where naming every alternative would read as if all were required.
	MissingScopes []string
	// RetryAfter is when to retry, for ErrUnavailable.
	RetryAfter time.Duration
	// Err is the underlying cause, if any. It is for logs: never send its
	// text to clients.
	Err error
}

func (e *Error) Error() string {
	s := e.Code.Error()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the condition and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

// refuse returns an *Error for code with reason and cause.
func refuse(code error, reason string, cause error) *Error {
	return &Error{Code: code, Reason: reason, Err: cause}
}

// StatusOf returns the HTTP status that answers err: 401, 400, 403, 503,
// or 500 for ErrMisconfigured and errors that are not the package's.
func StatusOf(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Code {
	case ErrNoToken, ErrInvalidToken, ErrInvalidDPoPProof, ErrUseDPoPNonce:
		return http.StatusUnauthorized
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrInsufficientScope:
		return http.StatusForbidden
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorCode returns the OAuth error code of e's condition (RFC 6750
// section 3.1, RFC 9449 sections 7.1 and 8), or "" for none.
func errorCode(code error) string {
	switch code {
	case ErrInvalidToken:
		return "invalid_token"
	case ErrInvalidRequest:
		return "invalid_request"
	case ErrInvalidDPoPProof:
		return "invalid_dpop_proof"
	case ErrUseDPoPNonce:
		return "use_dpop_nonce"
	case ErrInsufficientScope:
		return "insufficient_scope"
	case ErrUnavailable:
		return "temporarily_unavailable"
	case ErrMisconfigured:
		return "server_error"
	}
	return ""
}
