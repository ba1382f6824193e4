package backend

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// CertificateBinding is how certificate-bound access tokens (RFC 8705
// section 3, cnf.x5t#S256) are checked, as MonoCloud's SDK names the
// modes.
type CertificateBinding string

const (
	// BindingWhenPresent checks tokens that are certificate-bound, and
	// accepts the others.
	BindingWhenPresent CertificateBinding = "when_present"
	// BindingRequired accepts only certificate-bound tokens, with the
	// certificate they are bound to.
	BindingRequired CertificateBinding = "required"
	// BindingIgnore never checks the binding: a stolen bound token then
	// works without its certificate.
	BindingIgnore CertificateBinding = "dangerously_ignore"
)

// CertificateSource returns the DER of the client certificate of a
// request, or nil if it has none. An error means a certificate was sent
// but cannot be read; the token is then refused.
type CertificateSource func(r *http.Request) ([]byte, error)

// TLSCertificate is the default CertificateSource: the leaf certificate of
// the request's TLS connection (serve with tls.Config.ClientAuth set to
// request or require client certificates).
func TLSCertificate(r *http.Request) ([]byte, error) {
	if r == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, nil
	}
	return r.TLS.PeerCertificates[0].Raw, nil
}

// CertificateFormat is how a proxy encodes the certificate it forwards.
type CertificateFormat int

const (
	// CertificatePEM is a PEM certificate, its line breaks possibly
	// replaced by spaces, or bare base64 DER.
	CertificatePEM CertificateFormat = iota + 1
	// CertificateURLEncodedPEM is a URL-encoded PEM certificate, as nginx
	// ($ssl_client_escaped_cert) and AWS ALB (X-Amzn-Mtls-Clientcert)
	// send it.
	CertificateURLEncodedPEM
	// CertificateXFCC is Envoy's x-forwarded-client-cert: the Cert field
	// of its last element, the one the closest proxy added.
	CertificateXFCC
)

// ForwardedCertificate returns a CertificateSource that reads the client
// certificate a TLS-terminating proxy forwards in header, in format. The
// header is believed only from a peer address in proxies; from any other
// peer, the request's own TLS certificate is used, so that a client cannot
// forge the header. Options.TrustedProxies does not apply here: pass the
// same prefixes to both when one proxy forwards the certificate and the
// request's URL.
func ForwardedCertificate(header string, format CertificateFormat, proxies []netip.Prefix) CertificateSource {
	return func(r *http.Request) ([]byte, error) {
		if !fromProxy(r, proxies) {
			return TLSCertificate(r)
		}
		values := r.Header.Values(header)
		switch {
		case len(values) == 0:
			return nil, nil
		case len(values) > 1:
			return nil, errors.New("several forwarded certificate headers")
		}
		return parseForwardedCertificate(values[0], format)
	}
}

// parseForwardedCertificate decodes a forwarded certificate to DER.
func parseForwardedCertificate(v string, format CertificateFormat) ([]byte, error) {
	switch format {
	case CertificateURLEncodedPEM:
		s, err := url.PathUnescape(v)
		if err != nil {
			return nil, errors.New("forwarded certificate is not URL-encoded")
		}
		v = s
	case CertificateXFCC:
		cert, ok := xfccCert(v)
		if !ok {
			return nil, nil
		}
		s, err := url.PathUnescape(cert)
		if err != nil {
			return nil, errors.New("XFCC Cert is not URL-encoded")
		}
		v = s
	}
	return pemToDER(v)
}

// pemToDER decodes a PEM certificate, with its line breaks or not, or bare
// base64 DER.
func pemToDER(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if b, _ := pem.Decode([]byte(v)); b != nil && b.Type == "CERTIFICATE" {
		return b.Bytes, nil
	}
	v = strings.TrimPrefix(v, "-----BEGIN CERTIFICATE-----")
	v = strings.TrimSuffix(v, "-----END CERTIFICATE-----")
	v = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, v)
	der, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(der) == 0 {
		return nil, errors.New("forwarded certificate is malformed")
	}
	return der, nil
}

// xfccCert returns the Cert value of the last element of an
// x-forwarded-client-cert header: elements are separated by commas,
// key=value pairs by semicolons, and values may be quoted.
func xfccCert(v string) (string, bool) {
	elems := splitQuoted(v, ',')
	for _, kv := range splitQuoted(elems[len(elems)-1], ';') {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, "Cert") {
			return unquote(strings.TrimSpace(val)), true
		}
	}
	return "", false
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// fromProxy reports whether r comes from a peer address in proxies.
func fromProxy(r *http.Request, proxies []netip.Prefix) bool {
	if len(proxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// confirmation returns the cnf claim as an object (it may be a JSON
// string), and whether it could be read.
func confirmation(claims Claims) (map[string]any, bool) {
	switch v := claims["cnf"].(type) {
	case nil:
		return nil, true
	case map[string]any:
		return v, true
	case string:
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) != nil || m == nil {
			return nil, false
		}
		return m, true
	}
	return nil, false
}

// checkCertificate checks the certificate binding of g (RFC 8705
// section 3) against the client certificate of r, by the client's mode.
// A cnf that cannot be read counts as certificate-bound, so that it fails
// closed.
func (c *Client) checkCertificate(r *http.Request, g *grant) *Error {
	mode := c.cfg.binding
	switch {
	case mode == BindingIgnore:
		return nil
	case g.cert.malformed:
		return refuse(ErrInvalidToken, "cnf_malformed", nil)
	case g.cert.thumbprint == "" && mode == BindingRequired:
		return refuse(ErrInvalidToken, "not_certificate_bound", nil)
	case g.cert.thumbprint == "":
		return nil
	}
	thumb := g.cert.thumbprint
	var der []byte
	var err error
	if r != nil {
		der, err = c.cfg.certificate(r)
	}
	switch {
	case err != nil:
		return refuse(ErrInvalidToken, "certificate_malformed", err)
	case der == nil:
		return refuse(ErrInvalidToken, "certificate_missing", nil)
	}
	sum := sha256.Sum256(der)
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(thumb)) != 1 {
		return refuse(ErrInvalidToken, "certificate_mismatch", nil)
	}
	return nil
}
