package monocloud

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/monocloud/auth-go/internal/returnurl"
)

// appURL returns AppURL joined with a path of the app.
func (c *Client) appURL(path string) string {
	return strings.TrimSuffix(c.cfg.appURL.String(), "/") + path
}

// resolveReturnURL returns the absolute URL for a return_url or
// post_logout_url value, and false when it is not on the app's origin. A
// relative path without its leading slash ("dashboard") is taken from the
// app's root.
func (c *Client) resolveReturnURL(v string) (string, bool) {
	return returnurl.Resolve(c.cfg.appURL, withLeadingSlash(v))
}

// withLeadingSlash prefixes "/" to a relative path that starts with a
// letter or digit and has no scheme ("dashboard", "a/b?x=1").
func withLeadingSlash(v string) string {
	if v == "" || !(unicode.IsLetter(rune(v[0])) || unicode.IsDigit(rune(v[0]))) {
		return v
	}
	if u, err := url.Parse(v); err == nil && u.Scheme == "" && u.Host == "" {
		return "/" + v
	}
	return v
}

// returnPath returns r's escaped path and query, relative to AppURL's base
// path: where sign-in should return to.
func (c *Client) returnPath(r *http.Request) string {
	ret := r.URL.EscapedPath()
	if base := strings.TrimSuffix(c.cfg.appURL.EscapedPath(), "/"); base != "" {
		switch {
		case ret == base:
			ret = "/"
		case strings.HasPrefix(ret, base+"/"):
			ret = strings.TrimPrefix(ret, base)
		}
	}
	if r.URL.RawQuery != "" {
		ret += "?" + r.URL.RawQuery
	}
	return ret
}

// relativePath returns r's path relative to AppURL's base path.
func (c *Client) relativePath(r *http.Request) string {
	base := strings.TrimSuffix(c.cfg.appURL.Path, "/")
	if base != "" && (r.URL.Path == base || strings.HasPrefix(r.URL.Path, base+"/")) {
		if p := strings.TrimPrefix(r.URL.Path, base); p != "" {
			return p
		}
		return "/"
	}
	return r.URL.Path
}

// cleanPath is path.Clean keeping a trailing slash.
func cleanPath(p string) string {
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// isAPIPath reports whether r is for /api or below (relative to AppURL's
// base path), whose denials are answered in JSON.
func (c *Client) isAPIPath(r *http.Request) bool {
	p := cleanPath(c.relativePath(r))
	return p == "/api" || strings.HasPrefix(p, "/api/")
}
