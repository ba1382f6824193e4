package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// route is what the failure path needs to know of the auth route that
// failed.
type route struct {
	// onError is the route handler's OnError, which overrides
	// Options.OnError for its route; nil when it has none.
	onError func(http.ResponseWriter, *http.Request, error)
	// callback marks the callback route, whose failures are
	// callback_failed events.
	callback bool
}

// fail answers an error of auth route rt: through the handler's OnError or
// Options.OnError, the first one set (see the package doc), else with a
// status that fits the error and an error page, or JSON for a client that
// asked for it.
func (c *Client) fail(w http.ResponseWriter, r *http.Request, rt route, err error) {
	c.failWith(w, r, rt, err, errorStatus(err), wantsJSON(r))
}

// failProvider is fail for an error the provider caused: a refusal, or an
// answer that failed a check. It is a 502 Bad Gateway (or the 503 or 504
// errorStatus gives), never a 4xx: the browser's request was fine.
func (c *Client) failProvider(w http.ResponseWriter, r *http.Request, rt route, err error) {
	status := errorStatus(err)
	if status < http.StatusInternalServerError {
		status = http.StatusBadGateway
	}
	c.failWith(w, r, rt, err, status, wantsJSON(r))
}

// failWith answers err with status: through a hook when one is set, else
// with JSON (asJSON) or the error page. The details stay in the log: they
// may hold internal addresses, and error_description on the callback is
// attacker-supplied text.
func (c *Client) failWith(w http.ResponseWriter, r *http.Request, rt route, err error, status int, asJSON bool) {
	if c.handOver(w, r, rt, err, status) {
		return
	}
	page := c.errorPage(r, rt, status)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	}
	if asJSON {
		writeJSON(w, status, page.answer())
		return
	}
	page.write(w)
}

// retryAfter is the Retry-After of a 503: the first discovery backoff, a
// few times over.
const retryAfter = 5 * time.Second

// failLogout is fail for the back-channel logout route, whose caller is the
// provider: the body is an OAuth error object (RFC 6749 section 5.2), as
// OpenID Connect Back-Channel Logout 1.0 section 2.8 allows.
// error_description is the message of a refused token (400), and says only
// the status otherwise.
func (c *Client) failLogout(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	var (
		ve *ValidationError
		te *TokenError
	)
	if status == http.StatusBadGateway && errors.As(err, &te) {
		status = http.StatusBadRequest // the caller's logout token
	}
	if c.handOver(w, r, route{}, err, status) {
		return
	}
	answer := oauthError{Code: "server_error", Description: http.StatusText(status)}
	switch {
	case status == http.StatusServiceUnavailable:
		answer.Code = "temporarily_unavailable"
	case errors.As(err, &te):
		answer = oauthError{Code: "invalid_request", Description: te.Message}
	case status == http.StatusBadRequest && errors.As(err, &ve):
		answer = oauthError{Code: "invalid_request", Description: ve.Message}
	}
	writeJSON(w, status, answer)
}

// oauthError is the body of an OAuth error answer.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// handOver reports err, answered with status (an event, logged with what
// to fix when that is known, after that of the failed discovery attempt
// err marks, if any), and hands it to rt's OnError or Options.OnError, the
// first one set. It reports whether a hook answered.
func (c *Client) handOver(w http.ResponseWriter, r *http.Request, rt route, err error, status int) (answered bool) {
	err = c.reportDiscovery(r.Context(), err)
	logged := err
	if fix := c.diagnose(rt, err); fix != "" {
		logged = &diagnosedError{err: err, fix: fix}
	}
	c.emitFailure(r.Context(), r.URL.Path, status, logged, rt.callback)
	hook := rt.onError
	if hook == nil {
		hook = c.cfg.opts.OnError
	}
	if hook == nil {
		return false
	}
	hook(w, r, err)
	return true
}

// errorStatus maps an error to the HTTP status of an auth route's answer:
// 503 when the provider or the store cannot be reached or the provider
// answers 503 (retry later), 504
// when the provider did not answer in time, 502 when it answered with a
// refusal or with something unusable, 400 for a request that fails a check
// (an invalid state, or an error the provider sent through the browser),
// 500 otherwise: a *ValidationError naming an option (a discovery answer
// that proves TenantDomain wrong, for example) is the configuration's fault.
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
	case errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable:
		return http.StatusServiceUnavailable // the provider is overloaded or down for maintenance
	case errors.As(err, &oe):
		return opErrorStatus(oe)
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.As(err, &te), errors.As(err, &he):
		return http.StatusBadGateway
	case errors.As(err, &ve) && ve.Field == "":
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// opErrorStatus is the status of a provider's OAuth error: one its
// endpoint answered is a 502 (503 for temporarily_unavailable); one
// delivered through the browser to the callback (access_denied when the
// user declined, for example) is a 400.
func opErrorStatus(oe *OPError) int {
	switch {
	case oe.Code == "temporarily_unavailable":
		return http.StatusServiceUnavailable
	case oe.StatusCode != 0, oe.Code == "server_error":
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
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

// writeHTML answers status with page, tmpl executed with data. A page may
// not be stored, framed or sniffed as another type, and loads, runs, posts
// and rebases nothing: its only resources are inline styles.
func writeHTML(w http.ResponseWriter, status int, tmpl *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = tmpl.Execute(w, data)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
