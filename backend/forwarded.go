package backend

import (
	"cmp"
	"net/http"
	"strings"
)

// requestURL returns the URL the client sent r to, normalised and without
// its query, as the htu of a DPoP proof names it (RFC 9449 section 4.3,
// check 9).
//
// The scheme and host are those of the connection, and the path the
// request target the client sent (r.RequestURI, so that http.StripPrefix
// in front of Protect changes nothing). From a peer in
// Options.TrustedProxies they are those the proxy reports instead: proto
// and host of the first element of Forwarded (RFC 7239), else the first
// X-Forwarded-Proto and X-Forwarded-Host, and the path prefix the proxy
// stripped, X-Forwarded-Prefix, in front of the path.
//
// X-Forwarded-Prefix is how proxies that strip a prefix report it: Traefik's
// StripPrefix and Kong set it, nginx and HAProxy are configured to, and
// Spring's ForwardedHeaderFilter, ASP.NET Core's forwarded headers and
// auth0/go-jwt-middleware's API gateway mode read it. Believed only from
// trusted proxies, like the other forwarded headers, it needs no option of
// its own, and keeps an API reachable under several prefixes or hosts
// correct, which one configured public URL would not. Several values (one
// per proxy that stripped a prefix, outermost first) are joined in order,
// as Spring joins them; a value that is not a path is ignored.
func (c *Client) requestURL(r *http.Request) string {
	scheme, host, prefix := "http", r.Host, ""
	if r.TLS != nil {
		scheme = "https"
	}
	if fromProxy(r, c.cfg.proxies) {
		proto, fhost := forwardedProtoHost(r.Header.Values("Forwarded"))
		scheme = cmp.Or(proto, firstValue(r.Header.Get("X-Forwarded-Proto")), scheme)
		if h := cmp.Or(fhost, firstValue(r.Header.Get("X-Forwarded-Host"))); validHost(h) {
			host = h
		}
		prefix = forwardedPrefix(r.Header.Values("X-Forwarded-Prefix"))
	}
	u, _ := normalizeURL(scheme + "://" + host + prefix + requestPath(r))
	return u
}

// requestPath returns the escaped path the client sent r to: that of its
// origin-form request target, else of its URL.
func requestPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ := strings.Cut(r.RequestURI, "?")
		return path
	}
	return r.URL.EscapedPath()
}

// firstValue returns the first element of a comma-separated header value.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// validHost reports whether a forwarded host is a host and optional port,
// not something that would change the URL's other parts.
func validHost(h string) bool {
	return h != "" && !strings.ContainsAny(h, "/?#@\\ \t")
}

// forwardedProtoHost returns the proto and host parameters of the first
// element of the Forwarded header values (RFC 7239 section 4), unquoted.
func forwardedProtoHost(values []string) (proto, host string) {
	if len(values) == 0 {
		return "", ""
	}
	first := splitQuoted(values[0], ',')[0]
	for _, pair := range splitQuoted(first, ';') {
		name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
		value = unquote(strings.TrimSpace(value))
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "proto":
			proto = strings.ToLower(value)
		case "host":
			host = value
		}
	}
	return proto, host
}

// unquote returns a quoted-string's content (RFC 9110 section 5.6.4), or
// v itself if it is not quoted.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// forwardedPrefix returns the path prefix of the X-Forwarded-Prefix
// values: each comma-separated element, an absolute path without query or
// fragment, joined in order without their trailing slashes; "" if any
// element is not such a path.
func forwardedPrefix(values []string) string {
	var prefix strings.Builder
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if !strings.HasPrefix(p, "/") || strings.ContainsFunc(p, func(r rune) bool {
				return r == '?' || r == '#' || r == '\\' || r <= ' ' || r == 0x7f
			}) {
				return ""
			}
			prefix.WriteString(strings.TrimRight(p, "/"))
		}
	}
	return prefix.String()
}
