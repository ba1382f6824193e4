package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// fail answers an auth route's error: through the handler's OnError,
// MiddlewareOptions.OnError or Options.OnError, the first one set, else
// with a status that fits the error and a plain-text body.
func (c *Client) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	c.emitFailure(r.Context(), r.URL.Path, status, err)
	hook := c.cfg.opts.OnError
	if st := c.state(r.Context()); st != nil && st.onError != nil {
		hook = st.onError
	}
	if hook != nil {
		hook(w, r, err)
		return
	}
	// The details stay in the log: they may hold internal addresses, and
	// error_description on the callback is attacker-supplied text.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
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

func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
