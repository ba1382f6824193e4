package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metadata is the provider's discovery document (OpenID Connect Discovery
// 1.0 section 3, RFC 8414): the members either side uses, and the whole
// document in Raw for the others.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	PAREndpoint           string `json:"pushed_authorization_request_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// MTLSEndpointAliases are the endpoints for clients that authenticate
	// with a TLS certificate (RFC 8705 section 5).
	MTLSEndpointAliases map[string]string `json:"mtls_endpoint_aliases"`
	// MTLSAdditionalEndpointAliases are MonoCloud's aliases per trust store.
	MTLSAdditionalEndpointAliases map[string]map[string]string `json:"mtls_additional_endpoint_aliases"`

	Raw json.RawMessage `json:"-"`
}

// Discovery retry backoff: the wait after the first failed attempt,
// doubled after each further failure up to the maximum.
const (
	MinBackoff = time.Second
	MaxBackoff = 30 * time.Second
)

// Discovery fetches the discovery document of Issuer when first needed.
// One attempt runs at a time, for all callers; after a failure, attempts
// are spaced by a backoff from MinBackoff to MaxBackoff during which
// callers fail fast with the last error. Once discovered, the document is
// refreshed in the background every CacheDuration, and kept when a refresh
// fails. Set the fields before the first call of Get.
type Discovery struct {
	// Issuer is the issuer identifier, without a trailing slash.
	Issuer string
	// Client sends the requests; set its Timeout. Required.
	Client *http.Client
	// Timeout bounds one attempt, which is not cancelled with the caller's
	// context because other callers may wait for it.
	Timeout time.Duration
	// CacheDuration is how long a document is used before it is refreshed;
	// 0 means for ever.
	CacheDuration time.Duration
	// Required names members the document must have, such as "jwks_uri"
	// or "introspection_endpoint"; a document without one is Misconfigured.
	Required []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnError, if set, is called with the error of each failed attempt and
	// the context of the attempt, which keeps the values of the caller's.
	OnError func(context.Context, error)

	mu        sync.Mutex
	doc       *Metadata
	fetchedAt time.Time
	attempt   chan struct{} // closed when the attempt in flight ends; nil if none
	err       error         // of the last failed attempt
	failures  int           // consecutive failed attempts
	retryAt   time.Time     // no attempt before
}

// Get returns the discovery document, discovering it first if needed.
// Errors are *Error of Kind Unavailable or Misconfigured.
func (d *Discovery) Get(ctx context.Context) (*Metadata, error) {
	return d.GetAt(ctx, d.now())
}

// GetAt is Get for a caller that has read the clock: now is the time of
// the call, by the same clock as Now.
func (d *Discovery) GetAt(ctx context.Context, now time.Time) (*Metadata, error) {
	d.mu.Lock()
	if doc := d.doc; doc != nil {
		if d.CacheDuration > 0 && d.attempt == nil && !now.Before(d.fetchedAt.Add(d.CacheDuration)) && !now.Before(d.retryAt) {
			done := d.start()
			go d.run(context.WithoutCancel(ctx), done)
		}
		d.mu.Unlock()
		return doc, nil
	}
	if done := d.attempt; done != nil {
		d.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, &Error{Kind: Unavailable, Op: "discovery", Message: "gave up waiting", Err: ctx.Err()}
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.doc != nil {
			return d.doc, nil
		}
		return nil, d.err
	}
	if now.Before(d.retryAt) {
		defer d.mu.Unlock()
		return nil, d.err
	}
	done := d.start()
	d.mu.Unlock()
	d.run(ctx, done)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.doc != nil {
		return d.doc, nil
	}
	return nil, d.err
}

// start marks an attempt in flight. d.mu is held.
func (d *Discovery) start() chan struct{} {
	done := make(chan struct{})
	d.attempt = done
	return done
}

// run makes one attempt and records its outcome.
func (d *Discovery) run(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.Timeout)
	defer cancel()
	doc, err := d.fetch(ctx)
	if err != nil && d.OnError != nil {
		d.OnError(ctx, err) // unlocked, and before the waiters go on
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	close(done)
	d.attempt = nil
	if err == nil {
		d.doc, d.fetchedAt, d.failures, d.retryAt, d.err = doc, d.now(), 0, time.Time{}, nil
		return
	}
	d.failures++
	d.retryAt = d.now().Add(min(MinBackoff<<min(d.failures-1, 16), MaxBackoff))
	d.err = err
}

// fetch GETs and checks the discovery document.
func (d *Discovery) fetch(ctx context.Context) (*Metadata, error) {
	docURL := d.Issuer + "/.well-known/openid-configuration"
	misconfigured := func(status int, format string, args ...any) *Error {
		return &Error{Kind: Misconfigured, Op: "discovery", StatusCode: status, Message: docURL + ": " + fmt.Sprintf(format, args...)}
	}
	body, status, err := GetJSON(ctx, d.Client, docURL)
	switch {
	case err != nil:
		return nil, &Error{Kind: Unavailable, Op: "discovery", StatusCode: status, Message: "fetching " + docURL, Err: err, Hint: misconfigurationHint(err, nil)}
	case transient(status):
		return nil, &Error{Kind: Unavailable, Op: "discovery", StatusCode: status, Message: fmt.Sprintf("%s answered status %d", docURL, status)}
	case status != http.StatusOK:
		e := misconfigured(status, "answered status %d, want 200: is this the issuer URL?", status)
		e.Hint = misconfigurationHint(nil, body)
		return nil, e
	}
	var doc Metadata
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, misconfigured(status, "the discovery document is not JSON (an object): %v", err)
	}
	doc.Raw = body
	// The issuer may differ from the configured one by a trailing slash.
	if doc.Issuer != d.Issuer && doc.Issuer != d.Issuer+"/" {
		return nil, misconfigured(status, "the provider's issuer is %q, not the configured %q", doc.Issuer, d.Issuer)
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(body, &members) // it parsed as an object above
	for _, name := range d.Required {
		var s string
		if json.Unmarshal(members[name], &s) != nil || s == "" {
			return nil, misconfigured(status, "%s is required but not available in the issuer metadata", name)
		}
	}
	return &doc, nil
}

// misconfigurationHint names the likely misconfiguration of the issuer URL
// behind a failed discovery request (err) or answer (body), or returns "":
// a host that does not exist, https against a provider that speaks http,
// http against one that speaks https.
func misconfigurationHint(err error, body []byte) string {
	var (
		dnsErr *net.DNSError
		tlsErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "the host " + strconv.Quote(dnsErr.Name) + " does not exist"
	// net/http reports an http answer to its TLS handshake as this text,
	// other records as the TLS error.
	case errors.As(err, &tlsErr), err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the provider does not speak TLS; is it http:// rather than https://?"
	case bytes.Contains(body, []byte("HTTP request to an HTTPS server")), bytes.Contains(body, []byte("plain HTTP request was sent to HTTPS port")):
		return "the provider speaks TLS; is it https:// rather than http://?"
	}
	return ""
}

// MTLSAliases returns the mutual TLS endpoint aliases a client
// authenticating with a TLS certificate uses in place of the regular
// endpoints, keyed by member name such as "token_endpoint", and the name
// of the member they come from: MonoCloud's aliases of the trust store
// trustStoreID if it is set, else mtls_endpoint_aliases (RFC 8705 section
// 5).
func (m *Metadata) MTLSAliases(trustStoreID string) (aliases map[string]string, member string) {
	if trustStoreID != "" {
		return m.MTLSAdditionalEndpointAliases[trustStoreID], fmt.Sprintf("mtls_additional_endpoint_aliases[%q]", trustStoreID)
	}
	return m.MTLSEndpointAliases, "mtls_endpoint_aliases"
}

// EndSessionURL returns the URL of the provider's end_session_endpoint for
// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 section 2)
// with the client ID, the ID token hint if set, and the post-logout
// redirect URI if set, with state; false if the provider has no such
// endpoint.
func (m *Metadata) EndSessionURL(clientID, idTokenHint, postLogoutRedirectURI, state string) (string, bool) {
	if m.EndSessionEndpoint == "" {
		return "", false
	}
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("client_id", clientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
		if state != "" {
			q.Set("state", state)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

func (d *Discovery) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// IssuerURL returns the issuer URL a tenant domain names: a bare host gets
// https://, an explicit http:// or https:// URL is kept, without its
// trailing slash. It reports false for a value that is no host name or
// http(s) URL, or that has a query, fragment or user info.
func IssuerURL(tenantDomain string) (string, bool) {
	v := tenantDomain
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return v, false
	}
	return strings.TrimSuffix(v, "/"), true
}
