package monocloud

import (
	"net/http"
	"strconv"
	"strings"
)

// wantsJSON reports whether r's client asked for a JSON answer rather than
// a page: a script (fetch, XMLHttpRequest) or an API client. It holds when
//
//   - Accept prefers JSON (application/json, or a type ending in +json such
//     as application/problem+json) over text/html by q-value,
//   - Sec-Fetch-Mode is cors (fetch and XMLHttpRequest in browsers, for
//     the same origin too; a navigation sends navigate), or
//   - X-Requested-With is XMLHttpRequest (jQuery, htmx and others).
//
// A redirect to sign-in is of no use to such a client: a browser's fetch
// follows it to the provider and fails with an opaque CORS error.
func wantsJSON(r *http.Request) bool {
	h := r.Header
	if strings.EqualFold(h.Get("Sec-Fetch-Mode"), "cors") ||
		strings.EqualFold(h.Get("X-Requested-With"), "XMLHttpRequest") {
		return true
	}
	return acceptPrefersJSON(h.Values("Accept"))
}

// acceptPrefersJSON reports whether the Accept header values give a JSON
// type a higher q-value than text/html. The q-value of text/html is that of
// the most specific range that matches it (text/html, text/*, */*); JSON
// must be named: */* alone prefers neither.
func acceptPrefersJSON(accept []string) bool {
	var (
		jsonQ        float64
		htmlQ        float64
		htmlSpecific = -1 // specificity of the range htmlQ came from
	)
	for _, value := range accept {
		for rng := range strings.SplitSeq(value, ",") {
			mediaType, q, ok := parseMediaRange(rng)
			if !ok {
				continue
			}
			switch {
			case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
				jsonQ = max(jsonQ, q)
			default:
				if s := htmlSpecificity(mediaType); s > htmlSpecific {
					htmlQ, htmlSpecific = q, s
				}
			}
		}
	}
	return jsonQ > htmlQ
}

// htmlSpecificity says how closely mediaType matches text/html: 2 for
// text/html, 1 for text/*, 0 for */*, and -1 when it does not match.
func htmlSpecificity(mediaType string) int {
	switch mediaType {
	case "text/html":
		return 2
	case "text/*":
		return 1
	case "*/*":
		return 0
	}
	return -1
}

// parseMediaRange parses one range of an Accept header, such as
// "application/json;q=0.9", into its lower-case media type and q-value
// (1 when absent). It reports false for an empty range or an invalid
// q-value.
func parseMediaRange(rng string) (mediaType string, q float64, ok bool) {
	mediaType, params, _ := strings.Cut(rng, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	if mediaType == "" {
		return "", 0, false
	}
	q = 1
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return mediaType, q, true
}
