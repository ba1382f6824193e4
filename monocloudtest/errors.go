package monocloudtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// oauthError is an OAuth 2.0 error response (RFC 6749, sections 4.1.2.1 and
// 5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// errorf returns an oauthError with the given code and a formatted
// description.
func errorf(code, format string, args ...any) *oauthError {
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *oauthError) Error() string {
	return e.Code + ": " + e.Description
}

// status returns the HTTP status of e at the token endpoint.
func (e *oauthError) status() int {
	switch e.Code {
	case "invalid_client":
		return http.StatusUnauthorized
	case "server_error":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// writeJSON writes v as an uncacheable JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The only possible failure is a broken connection; nothing to do then.
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes err as a JSON error response. Errors that are not
// *oauthError become a server_error.
func writeError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		oe = errorf("server_error", "%v", err)
	}
	writeJSON(w, oe.status(), oe)
}
