package monocloud

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/expiring"
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
	RedirectURI  string         `json:"redirectUri,omitempty"` // sent at authorization; "" for the callback route's
	AppState     map[string]any `json:"appState,omitempty"`
}

// stateCookieName returns the name of the state cookie of the transaction
// with the given state: one cookie per transaction, so several tabs can
// sign in at once.
func (c *Client) stateCookieName(state string) string {
	return c.cfg.stateCookie.name + "." + state
}

// The sign-in transactions in flight per browser (State.MaxConcurrent and
// State.Duration) are bounded: each adds a cookie (of about 500 bytes, up
// to cookie.MaxSize with a long return URL), and too many would push the
// Cookie header past the limits of servers and proxies, so maxStateBytes
// bounds them together too.
const (
	defaultMaxStates     = 5
	maxMaxStates         = 20
	maxStateBytes        = 2 * cookie.MaxSize
	defaultStateDuration = 15 * time.Minute
	minStateDuration     = 5 * time.Minute
)

// requestStates returns the request's state cookies, oldest first:
// browsers list cookies of the same path so (RFC 6265, 5.4).
func (c *Client) requestStates(r *http.Request) []*http.Cookie {
	prefix := c.cfg.stateCookie.name + "."
	var states []*http.Cookie
	for _, ck := range r.Cookies() {
		if strings.HasPrefix(ck.Name, prefix) {
			states = append(states, ck)
		}
	}
	return states
}

// expireOldStates expires the request's oldest state cookies so that with a
// new one of size bytes (name plus value) at most State.MaxConcurrent, of
// at most maxStateBytes together, remain. It expires at most
// State.MaxConcurrent, the most a browser of this library holds: older
// ones, which only a client of its own sends, are left alone, so the answer
// stays small whatever the Cookie header holds.
func (c *Client) expireOldStates(w http.ResponseWriter, r *http.Request, size int) {
	states := c.requestStates(r)
	kept, expired, limit := 1, 0, c.cfg.maxStates // the new one
	for i := len(states) - 1; i >= 0 && expired < limit; i-- {
		if n := len(states[i].Name) + len(states[i].Value); kept < limit && size+n <= maxStateBytes {
			kept++
			size += n
			continue
		}
		kept = limit // this one goes, and every older one
		expired++
		c.expireState(w, states[i].Name)
	}
}

// clearStates expires the request's state cookies, except the one named
// taken (already expired): the sign-ins still under way end when one
// completes or the user signs out. Like expireOldStates it expires at most
// State.MaxConcurrent of them, the newest.
func (c *Client) clearStates(w http.ResponseWriter, r *http.Request, taken string) {
	states := c.requestStates(r)
	for i, expired := len(states)-1, 0; i >= 0 && expired < c.cfg.maxStates; i-- {
		if states[i].Name != taken {
			c.expireState(w, states[i].Name)
			expired++
		}
	}
}

// expireState expires the state cookie name.
func (c *Client) expireState(w http.ResponseWriter, name string) {
	cc := c.cfg.stateCookie
	http.SetCookie(w, &http.Cookie{Name: name, Path: cc.path, Domain: cc.domain, MaxAge: -1, HttpOnly: true, Secure: cc.secure, SameSite: cc.sameSite})
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
		MaxAge: int(c.cfg.stateDuration / time.Second), HttpOnly: true, Secure: cc.secure, SameSite: sameSite,
	}, nil
}

// takeAuthState returns the transaction of state and expires its cookie.
// A missing, forged, expired or already used state is ErrInvalidState.
func (c *Client) takeAuthState(w http.ResponseWriter, r *http.Request, state string) (*authState, error) {
	if state == "" || len(state) > 128 || strings.ContainsAny(state, "; ,\"") {
		return nil, ErrInvalidState
	}
	name := c.stateCookieName(state)
	ck, err := r.Cookie(name)
	if err != nil {
		return nil, ErrInvalidState
	}
	var as authState
	if _, err := c.stateCodec.Decode(name, ck.Value, &as); err != nil {
		return nil, ErrInvalidState
	}
	c.expireState(w, name)
	if !c.usedStates.Add(state, struct{}{}, c.now()) {
		return nil, &ValidationError{Message: "Invalid state: the callback was already used", Err: ErrInvalidState}
	}
	return &as, nil
}

// Replays are refused by remembering the states of the callbacks taken and
// the IDs (jti) of the logout tokens accepted. States are kept for
// State.Duration, after which their cookie is refused anyway; logout token IDs
// for the maximum session duration. Anyone can add used states (a sign-in
// and a callback without a code need no account), so they are kept apart
// from the logout token IDs, which only the provider's signature adds. Each
// set is bounded, and forgets its oldest entries first past the bound. A
// forgotten state leaves replay protection to the single-use state cookie
// and the provider's single-use codes. A logout token ID is forgotten only
// after maxLogoutJTIs later logouts, and a replay must still pass the
// token's own time checks.
const (
	maxUsedStates = 1 << 18 // 291 callbacks a second for the default State.Duration; about 45 MB
	maxLogoutJTIs = 1 << 16 // about 10 MB
)

// newUsedStates returns the set of states whose callback was taken, each
// kept for the state duration d.
func newUsedStates(d time.Duration) *expiring.Map[string, struct{}] {
	return expiring.New[string, struct{}](maxUsedStates, d)
}

// randomString returns 32 random bytes, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
