package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// fail answers an auth route's error: through the handler's OnError or
// Options.OnError, the first one set (see the package doc), else
// with a status that fits the error and a plain-text body.
func (c *Client) fail(w http.ResponseWriter, r *http.Request, err error) {
	if status, answered := c.handOver(w, r, err); !answered {
		// The details stay in the log: they may hold internal addresses, and
		// error_description on the callback is attacker-supplied text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
	}
}

// failLogout is fail for the back-channel logout route, whose caller is the
// provider: the body is an OAuth error object (RFC 6749 section 5.2), as
// OpenID Connect Back-Channel Logout 1.0 section 2.8 allows.
// error_description is the message of a refused token (400), and says only
// the status otherwise.
func (c *Client) failLogout(w http.ResponseWriter, r *http.Request, err error) {
	status, answered := c.handOver(w, r, err)
	if answered {
		return
	}
	answer := oauthError{Code: "server_error", Description: http.StatusText(status)}
	var (
		ve *ValidationError
		te *TokenError
	)
	switch {
	case status == http.StatusServiceUnavailable:
		answer.Code = "temporarily_unavailable"
	case errors.As(err, &te):
		answer = oauthError{Code: "invalid_request", Description: te.Message}
	case errors.As(err, &ve):
		answer = oauthError{Code: "invalid_request", Description: ve.Message}
	}
	writeJSON(w, status, answer)
}

// oauthError is the body of an OAuth error answer.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// handOver reports err (an event, logged) and hands it to the handler's
// OnError or Options.OnError, the first one set.
// It returns the status that fits err, and whether a hook answered.
func (c *Client) handOver(w http.ResponseWriter, r *http.Request, err error) (status int, answered bool) {
	status = errorStatus(err)
	c.emitFailure(r.Context(), r.URL.Path, status, err)
	hook := c.cfg.opts.OnError
	if st := c.reqState(r.Context()); st != nil && st.onError != nil {
		hook = st.onError
	}
	if hook == nil {
		return status, false
	}
	hook(w, r, err)
	return status, true
}

// errorStatus maps an error to the HTTP status of an auth route's answer.
func errorStatus(err error) int {
	var (
		ve *ValidationError
		oe *OPError
		te *TokenError
		he *HTTPError
		se *StoreError
	)
	switch {
	case errors.As(err, &se), errors.Is(err, ErrProviderUnavailable):
		return http.StatusServiceUnavailable
	case errors.As(err, &oe), errors.As(err, &ve), errors.As(err, &te):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.As(err, &he):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// methodNotAllowed answers 405 with the allowed methods.
func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
}

// noCache forbids storing the answer: auth routes set and expire cookies.
func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
