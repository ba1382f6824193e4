package backend

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// withCertificate returns a Bearer request presenting cert over TLS.
func withCertificate(token string, cert *tls.Certificate) *http.Request {
	r := bearer(token)
	r.TLS = &tls.ConnectionState{}
	if cert != nil {
		r.TLS.PeerCertificates = []*x509.Certificate{cert.Leaf}
	}
	return r
}

func TestCertificateBinding(t *testing.T) {
	cert := monocloudtest.NewClientCertificate(t, "client")
	other := monocloudtest.NewClientCertificate(t, "other")
	thumb := monocloudtest.CertificateThumbprint(cert.Leaf.Raw)
	for _, tc := range []struct {
		name   string
		mode   CertificateBinding
		cnf    any // nil: none
		cert   *tls.Certificate
		status int
	}{
		{"bound, matching certificate", BindingWhenPresent, map[string]any{"x5t#S256": thumb}, &cert, 200},
		{"bound, cnf as a JSON string", BindingWhenPresent, `{"x5t#S256":"` + thumb + `"}`, &cert, 200},
		{"bound, other certificate", BindingWhenPresent, map[string]any{"x5t#S256": thumb}, &other, 401},
		{"bound, no certificate", BindingWhenPresent, map[string]any{"x5t#S256": thumb}, nil, 401},
		{"unbound, when present", BindingWhenPresent, nil, nil, 200},
		{"malformed cnf fails closed", BindingWhenPresent, "{not json", &cert, 401},
		{"cnf not an object", BindingWhenPresent, 7.0, &cert, 401},
		{"x5t not a string", BindingWhenPresent, map[string]any{"x5t#S256": 1}, &cert, 401},
		{"unbound, required", BindingRequired, nil, &cert, 401},
		{"other confirmation, required", BindingRequired, map[string]any{"jwk": "x"}, &cert, 401},
		{"bound, required", BindingRequired, map[string]any{"x5t#S256": thumb}, &cert, 200},
		{"mismatch ignored", BindingIgnore, map[string]any{"x5t#S256": thumb}, &other, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.CertificateBinding = tc.mode })
			a := monocloudtest.AccessToken{}
			if tc.cnf != nil {
				a.Claims = map[string]any{"cnf": tc.cnf}
			}
			got := f.serve(withCertificate(f.mint(t, a), tc.cert), nil)
			if got.status != tc.status {
				t.Errorf("status %d, want %d (%v)", got.status, tc.status, got.challenge)
			}
		})
	}
}

func TestCertificateBindingOnCachedAndIntrospectedTokens(t *testing.T) {
	f := newFixture(t, nil)
	cert := monocloudtest.NewClientCertificate(t, "client")
	thumb := monocloudtest.CertificateThumbprint(cert.Leaf.Raw)
	for name, token := range map[string]string{
		"jwt":    f.mint(t, monocloudtest.AccessToken{CertificateThumbprint: thumb}),
		"opaque": f.opaque(t, monocloudtest.AccessToken{CertificateThumbprint: thumb}),
	} {
		if a := f.serve(withCertificate(token, &cert), nil); a.status != 200 {
			t.Errorf("%s with its certificate: status %d", name, a.status)
		}
		if a := f.serve(withCertificate(token, nil), nil); a.status != 401 {
			t.Errorf("%s cached, without its certificate: status %d, want 401", name, a.status)
		}
	}
}

func TestForwardedCertificate(t *testing.T) {
	cert := monocloudtest.NewClientCertificate(t, "client")
	pemCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}))
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	for _, tc := range []struct {
		name   string
		format CertificateFormat
		value  string
	}{
		{"PEM", CertificatePEM, pemCert},
		{"PEM on one line", CertificatePEM, strings.ReplaceAll(pemCert, "\n", " ")},
		{"bare base64 DER", CertificatePEM, base64.StdEncoding.EncodeToString(cert.Leaf.Raw)},
		{"URL-encoded PEM (nginx, ALB)", CertificateURLEncodedPEM, url.PathEscape(pemCert)},
		{"URL-encoded PEM with + kept", CertificateURLEncodedPEM, strings.ReplaceAll(url.PathEscape(pemCert), "%2B", "+")},
		{"Envoy XFCC", CertificateXFCC, `By=spiffe://a;Hash=abc;Cert="` + url.PathEscape("bogus") + `",By=spiffe://b;Hash=def;Cert="` + url.PathEscape(pemCert) + `";Subject="CN=client"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := ForwardedCertificate("X-Client-Cert", tc.format, proxies)
			r := bearer("")
			r.TLS = nil
			r.RemoteAddr = "10.0.0.1:443"
			r.Header.Set("X-Client-Cert", tc.value)
			der, err := src(r)
			if err != nil || string(der) != string(cert.Leaf.Raw) {
				t.Fatalf("got %d bytes, %v; want the certificate", len(der), err)
			}
			r.RemoteAddr = "203.0.113.1:443"
			if der, err := src(r); der != nil || err != nil {
				t.Errorf("header believed from an untrusted peer: %d bytes, %v", len(der), err)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		r := bearer("")
		r.RemoteAddr = "10.0.0.1:443"
		r.Header.Set("X-Client-Cert", "%%%")
		if _, err := ForwardedCertificate("X-Client-Cert", CertificateURLEncodedPEM, proxies)(r); err == nil {
			t.Error("malformed header accepted")
		}
	})
}
