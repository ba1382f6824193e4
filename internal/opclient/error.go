package opclient

import (
	"bytes"
	"io"
	"net/http"
)

// Kind classifies an Error.
type Kind int

const (
	// KindOAuth means the server answered with an OAuth error: an error
	// response from the token or PAR endpoint (RFC 6749 section 5.2).
	KindOAuth Kind = iota + 1
	// KindHTTP means no usable response arrived: the request could not be
	// sent or timed out, the status code was unexpected, the body could not
	// be read or parsed as a JSON object, or userinfo described another user.
	KindHTTP
	// KindValidation means a response parsed but lacks a required field, or
	// the caller's arguments or Client configuration cannot be used.
	KindValidation
	// KindRefused means the userinfo endpoint refused the access token: a
	// Bearer challenge or a 403 (RFC 6750 section 3). Code and Description
	// are set as for KindOAuth.
	KindRefused
)

// Error is the error type returned by every function in this package.
type Error struct {
	Kind Kind
	// Code and Description are the OAuth error code and its description,
	// set only for KindOAuth and KindRefused. When the server gives none, they hold the
	// defaults of the MonoCloud SDK, such as "refresh_grant_failed".
	Code, Description string
	// StatusCode is the HTTP status of the response, or 0 if none arrived.
	StatusCode int
	// Message is the MonoCloud SDK's message text. For KindOAuth and KindRefused it
	// is Code.
	Message string
	// Err is the underlying error, if any: a network or context error, or a
	// JSON or number syntax error.
	Err error
	// Header and Body are the answer the error was built from, when the
	// server answered with an error status: its header without Set-Cookie,
	// and at most MaxRawBody bytes of its body.
	Header http.Header
	Body   []byte
}

// MaxRawBody bounds the body an Error keeps.
const MaxRawBody = 4 << 10

// withAnswer returns e with the answer of header and body attached.
func (e *Error) withAnswer(header http.Header, body []byte) *Error {
	e.Header = header.Clone()
	e.Header.Del("Set-Cookie")
	e.Body = bytes.Clone(body[:min(len(body), MaxRawBody)])
	return e
}

// peekBody reads at most MaxRawBody bytes of resp's body, for an error.
func peekBody(resp *http.Response) []byte {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxRawBody))
	return body
}

func (e *Error) Error() string {
	if e.Kind == KindOAuth || e.Kind == KindRefused {
		return "opclient: " + e.Code + ": " + e.Description
	}
	return "opclient: " + e.Message
}

// Unwrap returns e.Err, so that errors.Is(err, context.DeadlineExceeded)
// reports whether a request ran out of time.
func (e *Error) Unwrap() error { return e.Err }
