package monocloudtest

import (
	"io"
	"net/http"
	"time"
)

// A Fault makes an endpoint misbehave. The zero Fault means no fault.
//
// The endpoint first waits for Delay, giving up without a response when the
// request's context is done (for example when the client times out). Then,
// if Status or Body is set, it responds with them instead of serving the
// request: Status defaults to 200 and ContentType to "application/json".
// A Fault with only a Delay slows the endpoint down without changing its
// responses.
type Fault struct {
	Status      int
	Body        string
	Delay       time.Duration
	ContentType string
}

// SetTokenFault applies f to every request to the token endpoint until it is
// cleared with SetTokenFault(Fault{}). Faulty requests are still recorded and
// counted, as by [Provider.LastTokenRequest] and [Provider.RefreshGrants].
func (p *Provider) SetTokenFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenFault = f
}

// SetUserinfoFault applies f to every request to the userinfo endpoint until
// it is cleared with SetUserinfoFault(Fault{}).
func (p *Provider) SetUserinfoFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.userinfoFault = f
}

// SetDiscoveryFault applies f to every request for the discovery document
// until it is cleared with SetDiscoveryFault(Fault{}), for tests of a
// provider that is down or misconfigured.
func (p *Provider) SetDiscoveryFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.discoveryFault = f
}

// SetJWKSFault applies f to every request to the JWKS endpoint until it is
// cleared with SetJWKSFault(Fault{}). Faulty requests are still counted by
// [Provider.JWKSRequests].
func (p *Provider) SetJWKSFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwksFault = f
}

// SetIDTokenEdit makes the token endpoint pass the claims of every ID token
// it issues through edit before signing them, until it is cleared with
// SetIDTokenEdit(nil): for tests of a relying party's ID token checks, such
// as the conformance tests rp-id_token-iat (delete(claims, "iat")) and
// rp-id_token-sub.
func (p *Provider) SetIDTokenEdit(edit func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idTokenEdit = edit
}

// intercept applies f to the request and reports whether it took the request
// over, in which case the caller must not respond. Delays also end when the
// provider shuts down, so that a stuck client cannot hang the test's cleanup.
func (f Fault) intercept(w http.ResponseWriter, r *http.Request, shutdown <-chan struct{}) bool {
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return true
		case <-shutdown:
			http.Error(w, "monocloudtest: provider shut down", http.StatusServiceUnavailable)
			return true
		}
	}
	if f.Status == 0 && f.Body == "" {
		return false
	}
	status, contentType := f.Status, f.ContentType
	if status == 0 {
		status = http.StatusOK
	}
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	// The only possible failure is a broken connection; nothing to do then.
	_, _ = io.WriteString(w, f.Body)
	return true
}
