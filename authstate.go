package monocloud

import (
	"net/http"
	"strings"
	"sync"
	"time"
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

// saveAuthState sets the state cookie of a new transaction.
func (c *Client) saveAuthState(w http.ResponseWriter, state string, as *authState, formPost bool) error {
	name := c.stateCookieName(state)
	value, err := c.stateCodec.Encode(name, as)
	if err != nil {
		return err
	}
	cc := c.cfg.stateCookie
	sameSite := cc.sameSite
	if formPost && cc.secure {
		// The provider POSTs the callback cross-site; only SameSite=None
		// cookies come along (and browsers require Secure for those).
		sameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cc.path, Domain: cc.domain,
		MaxAge: int(stateMaxAge / time.Second), HttpOnly: true, Secure: cc.secure, SameSite: sameSite,
	})
	return nil
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

// expiringSet remembers strings until their expiry: used states and logout
// token IDs, so a replayed callback or logout token is refused.
type expiringSet struct {
	mu      sync.Mutex
	entries map[string]time.Time
}

func newExpiringSet() *expiringSet { return &expiringSet{entries: make(map[string]time.Time)} }

// add records key for ttl from now and reports whether it was new.
func (s *expiringSet) add(key string, now time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= 1024 {
		for k, exp := range s.entries {
			if now.After(exp) {
				delete(s.entries, k)
			}
		}
	}
	if exp, ok := s.entries[key]; ok && now.Before(exp) {
		return false
	}
	s.entries[key] = now.Add(ttl)
	return true
}
