package monocloud

import (
	"net/http"
	"strings"
)

// preflightMaxAge is how long, in seconds, a browser may cache an auth
// route's preflight answer.
const preflightMaxAge = "600"

// isPreflight reports whether r is a CORS preflight: an OPTIONS request
// naming the method of the request it precedes. A bare OPTIONS is not.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight to an auth route with 204 and runs no
// flow. Only the app's own origin (that of AppURL) is allowed, with
// credentials: the auth routes read and set the session cookie, so a page
// of another origin must not call them. A preflight from another origin
// gets no Access-Control-Allow-Origin, and the browser then refuses the
// request.
func (c *Client) preflight(w http.ResponseWriter, r *http.Request, allowed []string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if origin := r.Header.Get("Origin"); origin != "" && origin == c.appOrigin() {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", strings.Join(allowed, ", "))
		if headers := r.Header.Get("Access-Control-Request-Headers"); headers != "" {
			h.Set("Access-Control-Allow-Headers", headers)
		}
		h.Set("Access-Control-Max-Age", preflightMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// appOrigin returns the origin of AppURL, as browsers send it in Origin:
// scheme and host, in lower case.
func (c *Client) appOrigin() string {
	return strings.ToLower(c.cfg.appURL.Scheme + "://" + c.cfg.appURL.Host)
}
