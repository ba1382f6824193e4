package monocloud

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// authState is the content of a sign-in transaction's state cookie.
type authState struct {
	Nonce        string         `json:"nonce"`
	CodeVerifier string         `json:"codeVerifier"`
	ReturnURL    string         `json:"returnUrl"`
	MaxAge       *int           `json:"maxAge,omitempty"`
	Resource     string         `json:"resource,omitempty"`  // sent in the code exchange; the token is filed under it
	Resources    string         `json:"resources,omitempty"` // all requested at authorization
	Scopes       string         `json:"scopes"`
	AppState     map[string]any `json:"appState,omitempty"`
}

// stateCookieName returns the name of the state cookie of the transaction
// with the given state: one cookie per transaction, so several tabs can
// sign in at once.
func (c *Client) stateCookieName(state string) string {
	return c.cfg.stateCookie.name + "." + state
}

// maxStateCookies and maxStateBytes bound the sign-in transactions in
// flight per browser: each adds a cookie (of about 500 bytes, up to
// cookie.MaxSize with a long return URL), and too many would push the
// Cookie header past the limits of servers and proxies.
const (
	maxStateCookies = 5
	maxStateBytes   = 2 * cookie.MaxSize
)

// expireOldStates expires the request's oldest state cookies so that with a
// new one of size bytes (name plus value) at most maxStateCookies, of at
// most maxStateBytes together, remain. Browsers list cookies of the same
// path oldest first (RFC 6265, 5.4).
func (c *Client) expireOldStates(w http.ResponseWriter, r *http.Request, size int) {
	prefix := c.cfg.stateCookie.name + "."
	var states []*http.Cookie
	for _, ck := range r.Cookies() {
		if strings.HasPrefix(ck.Name, prefix) {
			states = append(states, ck)
		}
	}
	cc := c.cfg.stateCookie
	kept := 1 // the new one
	for i := len(states) - 1; i >= 0; i-- {
		if n := len(states[i].Name) + len(states[i].Value); kept < maxStateCookies && size+n <= maxStateBytes {
			kept++
			size += n
			continue
		}
		kept = maxStateCookies // this one goes, and every older one
		http.SetCookie(w, &http.Cookie{Name: states[i].Name, Path: cc.path, Domain: cc.domain, MaxAge: -1, HttpOnly: true, Secure: cc.secure, SameSite: cc.sameSite})
	}
}

// stateCookie returns the state cookie of a new transaction. A cookie over
// cookie.MaxSize is a *ValidationError wrapping cookie.ErrTooLarge:
// browsers drop such a cookie, and the callback would then fail after the
// user signed in at the provider.
func (c *Client) stateCookie(state string, as *authState, formPost bool) (*http.Cookie, error) {
	name := c.stateCookieName(state)
	value, err := c.stateCodec.Encode(name, as)
	if err != nil {
		return nil, err
	}
	if err := cookie.CheckSize(name, value); err != nil {
		return nil, &ValidationError{Message: "Sign-in state too large for a cookie: shorten the application state, the scope or the resource parameter", Err: err}
	}
	cc := c.cfg.stateCookie
	sameSite := cc.sameSite
	if formPost && cc.secure {
		// The provider POSTs the callback cross-site; only SameSite=None
		// cookies come along (and browsers require Secure for those).
		sameSite = http.SameSiteNoneMode
	}
	return &http.Cookie{
		Name: name, Value: value, Path: cc.path, Domain: cc.domain,
		MaxAge: int(stateMaxAge / time.Second), HttpOnly: true, Secure: cc.secure, SameSite: sameSite,
	}, nil
}

// takeAuthState returns the transaction of state and expires its cookie.
// A missing, forged, expired or already used state is a *ValidationError.
func (c *Client) takeAuthState(w http.ResponseWriter, r *http.Request, state string) (*authState, error) {
	invalid := &ValidationError{Message: "Invalid state"}
	if state == "" || len(state) > 128 || strings.ContainsAny(state, "; ,\"") {
		return nil, invalid
	}
	name := c.stateCookieName(state)
	ck, err := r.Cookie(name)
	if err != nil {
		return nil, invalid
	}
	var as authState
	if _, err := c.stateCodec.Decode(name, ck.Value, &as); err != nil {
		return nil, invalid
	}
	cc := c.cfg.stateCookie
	http.SetCookie(w, &http.Cookie{Name: name, Path: cc.path, Domain: cc.domain, MaxAge: -1, HttpOnly: true, Secure: cc.secure, SameSite: cc.sameSite})
	if !c.usedStates.add(state, c.now(), stateMaxAge) {
		return nil, &ValidationError{Message: "Invalid state: the callback was already used"}
	}
	return &as, nil
}

// maxRemembered bounds an expiringSet. Past it the oldest-looking entries
// are dropped: replay protection then rests on the single-use state cookie
// and the provider's single-use codes alone.
const maxRemembered = 1 << 20

// expiringSet remembers strings until their expiry: used states and logout
// token IDs, so a replayed callback or logout token is refused.
type expiringSet struct {
	mu        sync.Mutex
	entries   map[string]time.Time
	nextSweep int // sweep expired entries when this many exist
}

func newExpiringSet() *expiringSet {
	return &expiringSet{entries: make(map[string]time.Time), nextSweep: 1024}
}

// add records key for ttl from now and reports whether it was new.
func (s *expiringSet) add(key string, now time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.entries[key]; ok && now.Before(exp) {
		return false
	}
	if len(s.entries) >= s.nextSweep {
		for k, exp := range s.entries {
			if now.After(exp) || len(s.entries) >= maxRemembered {
				delete(s.entries, k)
			}
		}
		s.nextSweep = max(1024, 2*len(s.entries))
	}
	s.entries[key] = now.Add(ttl)
	return true
}

// contains reports whether key is remembered at now.
func (s *expiringSet) contains(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.entries[key]
	return ok && now.Before(exp)
}
