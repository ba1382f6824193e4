package provider

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an Error.
type Kind int

const (
	// Unavailable means the provider could not be reached or answered with
	// a transient failure (no answer, a timeout, a 5xx, 408 or 429 status):
	// worth a retry.
	Unavailable Kind = iota + 1
	// Misconfigured means the provider answered in a way that proves the
	// configuration wrong: a discovery document that is not there (404),
	// another issuer, a required endpoint missing.
	Misconfigured
	// Invalid means the input, such as a token, is invalid: no key of the
	// provider verifies it.
	Invalid
)

func (k Kind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case Misconfigured:
		return "misconfigured"
	case Invalid:
		return "invalid"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error type of the package.
type Error struct {
	Kind Kind
	// Op is what failed: "discovery", "jwks" or "verify".
	Op string
	// StatusCode is the HTTP status of the provider's answer, 0 if none.
	StatusCode int
	// Message describes the failure. It holds no token.
	Message string
	// Err is the underlying error, if any.
	Err error
	// Hint names the likely misconfiguration behind a failed discovery,
	// such as an http:// issuer for a provider that speaks TLS; "" if
	// none is apparent. Error leaves it out: callers word it with the
	// setting to check.
	Hint string
}

func (e *Error) Error() string {
	s := "provider: " + e.Op + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or 0 if
// there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Errors a KeySet reports for tokens it cannot verify.
var (
	// ErrUnknownKey reports a token whose key is in no key set fetched
	// since the token was seen, or, through a *RefetchLimitedError, in no
	// key set fetched so far.
	ErrUnknownKey = errors.New("no key of the provider's key set matches the token")
	// ErrBadSignature reports a token that the key it names does not verify.
	ErrBadSignature = errors.New("the token's signature does not verify")
)

// RefetchLimitedError reports a token whose key the cached key set lacks
// while its source may not cause a refetch yet (see Source): a forged key,
// or a key the provider rotated to since the last fetch, which cannot be
// told apart until then. It matches ErrUnknownKey, so that a caller with
// no better answer refuses the token; an API answers "retry later", as a
// refusal would make clients throw away tokens that may be good.
//
// It is an Invalid *Error's cause rather than a Kind of its own, so that
// callers that map Kinds (the web app's logout tokens, say) keep refusing
// such tokens.
type RefetchLimitedError struct {
	// RetryAfter is how long until the key set may be refetched: a token
	// seen then refetches it if no other has.
	RetryAfter time.Duration
}

func (e *RefetchLimitedError) Error() string {
	return fmt.Sprintf("key set refetch rate-limited for %v: %v", e.RetryAfter, ErrUnknownKey)
}

// Unwrap returns ErrUnknownKey.
func (e *RefetchLimitedError) Unwrap() error { return ErrUnknownKey }
