// Package returnurl guards against open redirects (CWE-601) through
// user-supplied return URLs, such as the return_url parameter of a sign-in
// request.
package returnurl

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Resolve returns the absolute URL to redirect to for a user-supplied return
// URL, and ok=false when it must be ignored. The result is always on
// appURL's origin (scheme, host, port).
//
// appURL must be an absolute URL with scheme "http" or "https" and a host;
// otherwise every raw is refused. raw is accepted in one of two forms:
//
//   - A path-absolute reference: it starts with exactly one "/", and its
//     path is appended to appURL's path, so with appURL
//     https://example.org/base, "/x?y#z" resolves to
//     https://example.org/base/x?y#z.
//   - An absolute URL without userinfo whose scheme, host and port equal
//     appURL's. Hosts are compared ignoring ASCII case only, and an absent
//     port equals the scheme's default one. Its path is used as is.
//
// raw is refused if it is not valid UTF-8; if it contains a backslash, a
// control character or white space (Unicode's definitions of both); if any
// of its percent-encoding is malformed; or if its path, once
// percent-decoded, contains any of those characters, begins with "//" or
// has a "." or ".." segment (which browsers remove, turning "/..//evil.com"
// into "//evil.com"). As a final check, the result must parse back to
// appURL's origin with a path not beginning with "//".
//
// The query and fragment are kept and are checked only as above. Resolve
// does not check that the path exists, nor that an absolute URL's path lies
// under appURL's path.
func Resolve(appURL *url.URL, raw string) (string, bool) {
	if appURL == nil || appURL.Scheme != "http" && appURL.Scheme != "https" || appURL.Hostname() == "" {
		return "", false
	}
	if hasUnsafeChar(raw) {
		return "", false
	}
	u, err := url.Parse(raw) // also checks the path and fragment's percent-encoding
	if err != nil {
		return "", false
	}
	if _, err := url.QueryUnescape(u.RawQuery); err != nil {
		return "", false
	}
	if hasUnsafeChar(u.Path) || strings.HasPrefix(u.Path, "//") || hasDotSegment(u.Path) {
		return "", false
	}

	res := &url.URL{
		Scheme:      appURL.Scheme,
		Host:        appURL.Host,
		Path:        u.Path,
		RawPath:     u.RawPath,
		ForceQuery:  u.ForceQuery,
		RawQuery:    u.RawQuery,
		Fragment:    u.Fragment,
		RawFragment: u.RawFragment,
	}
	switch {
	case u.Scheme == "":
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return "", false
		}
		res.Path = strings.TrimSuffix(appURL.Path, "/") + u.Path
		res.RawPath = strings.TrimSuffix(appURL.EscapedPath(), "/") + u.EscapedPath()
	case u.User != nil || !sameOrigin(u, appURL): // an opaque URL has no host
		return "", false
	}

	out := res.String()
	check, err := url.Parse(out)
	if err != nil || check.User != nil || !sameOrigin(check, appURL) || strings.HasPrefix(check.Path, "//") {
		return "", false
	}
	return out, true
}

// hasUnsafeChar reports whether s is not valid UTF-8 or contains a
// backslash, a control character or white space.
func hasUnsafeChar(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r)
	})
}

// hasDotSegment reports whether path has a "." or ".." segment.
func hasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// sameOrigin reports whether u has the scheme, host and port of app.
func sameOrigin(u, app *url.URL) bool {
	return u.Scheme == app.Scheme &&
		lowerASCII(u.Hostname()) == lowerASCII(app.Hostname()) &&
		port(u) == port(app)
}

// lowerASCII lower-cases the ASCII letters of s only. Unlike
// strings.ToLower and strings.EqualFold, it maps no other rune to an ASCII
// letter, as they map U+212A KELVIN SIGN to "k".
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// port returns the port of u, or the default port of its scheme.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
