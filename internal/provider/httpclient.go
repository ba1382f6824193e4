package provider

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/monocloud/auth-go/internal/opclient"
)

// NewHTTPClient returns a client for provider calls: base's transport,
// cookie jar and redirect policy (http.DefaultTransport when base is nil),
// the timeout, and a User-Agent header on requests that have none.
func NewHTTPClient(base *http.Client, timeout time.Duration, userAgent string) *http.Client {
	c := &http.Client{Timeout: timeout}
	var rt http.RoundTripper = http.DefaultTransport
	if base != nil {
		if base.Transport != nil {
			rt = base.Transport
		}
		c.Jar = base.Jar
		c.CheckRedirect = base.CheckRedirect
	}
	c.Transport = userAgentTransport{rt: rt, ua: userAgent}
	return c
}

type userAgentTransport struct {
	rt http.RoundTripper
	ua string
}

func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", t.ua)
	}
	return t.rt.RoundTrip(r)
}

// WithClientCertificate returns a copy of client (http.DefaultClient when
// nil) that presents cert in TLS handshakes, for the mutual TLS client
// authentication of RFC 8705 section 2, or client itself with the error
// when its transport is not an *http.Transport, which it clones.
func WithClientCertificate(client *http.Client, cert *tls.Certificate) (*http.Client, error) {
	withCert := http.Client{}
	if client != nil {
		withCert = *client
	}
	rt := withCert.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return client, fmt.Errorf("HTTPClient's Transport must be an *http.Transport to add the certificate to, got a %T: present the certificate in its transport instead", rt)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	withCert.Transport = t
	return &withCert, nil
}

// GetJSON GETs url and returns the answer's status and body. The error
// reports a request that got no answer, or a body that could not be read
// or exceeds opclient.MaxBodySize.
func GetJSON(ctx context.Context, client *http.Client, url string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := opclient.ReadBody(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer of %s: %w", url, err)
	}
	return body, resp.StatusCode, nil
}

// transient reports whether an answer with status is worth a retry.
func transient(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}
