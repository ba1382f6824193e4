package monocloud

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/wire"
)

// signInTxn is a sign-in transaction: what the callback needs of the
// sign-in that started it, kept in the state cookie named after its OAuth
// state.
type signInTxn struct {
	Nonce        string
	CodeVerifier string
	ReturnURL    string
	MaxAge       *int
	Resource     string // sent in the code exchange; the token is filed under it
	Resources    string // all requested at authorization
	Scopes       string
	RedirectURI  string // sent at authorization; "" for the callback route's
	AppState     map[string]any
}

// stateWireVersion is the first byte of a signInTxn's binary encoding; a
// change of its layout needs a new one. A state cookie of an earlier
// format (JSON, before any release) is refused: its callback answers 400
// invalid state, as for any unknown state, and the user signs in again.
const stateWireVersion = 1

// MarshalBinary encodes as for the state cookie (see internal/wire):
//
//	version       stateWireVersion
//	nonce         Token
//	verifier      Token
//	return URL    Str
//	max age       Bool, whether there is one; if so, a Varint
//	resource, resources, scopes, redirect URI
//	              each a Str
//	app state     Map
//
// Application state of types other than JSON's decodes as its JSON
// encoding would have.
func (as *signInTxn) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Byte(stateWireVersion)
	w.Token(as.Nonce)
	w.Token(as.CodeVerifier)
	w.Str(as.ReturnURL)
	w.Bool(as.MaxAge != nil)
	if as.MaxAge != nil {
		w.Varint(int64(*as.MaxAge))
	}
	w.Str(as.Resource)
	w.Str(as.Resources)
	w.Str(as.Scopes)
	w.Str(as.RedirectURI)
	w.Map(as.AppState)
	p, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("monocloud: encoding the sign-in state: %w", err)
	}
	return p, nil
}

// UnmarshalBinary decodes into as what MarshalBinary encoded, leaving as
// unchanged on error.
func (as *signInTxn) UnmarshalBinary(p []byte) error {
	r := wire.NewReader(p)
	if v := r.Byte(); v != stateWireVersion {
		return fmt.Errorf("monocloud: sign-in state format %d: %w", v, wire.ErrMalformed)
	}
	var s signInTxn
	s.Nonce = r.Token()
	s.CodeVerifier = r.Token()
	s.ReturnURL = r.Str()
	if r.Bool() {
		maxAge := int(r.Varint())
		s.MaxAge = &maxAge
	}
	s.Resource = r.Str()
	s.Resources = r.Str()
	s.Scopes = r.Str()
	s.RedirectURI = r.Str()
	s.AppState = r.Map()
	if err := r.Done(); err != nil {
		return fmt.Errorf("monocloud: decoding the sign-in state: %w", err)
	}
	*as = s
	return nil
}

// stateCookieName returns the name of the state cookie of the transaction
// with the given state: one cookie per transaction, so several tabs can
// sign in at once.
func (c *Client) stateCookieName(state string) string {
	return c.cfg.opts.State.Cookie.Name + "." + state
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

// stateCookies returns the request's state cookies, oldest first:
// browsers list cookies of the same path so (RFC 6265, 5.4).
func (c *Client) stateCookies(r *http.Request) []*http.Cookie {
	prefix := c.cfg.opts.State.Cookie.Name + "."
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
	states := c.stateCookies(r)
	kept, expired, limit := 1, 0, c.cfg.opts.State.MaxConcurrent // the new one
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
	states := c.stateCookies(r)
	for i, expired := len(states)-1, 0; i >= 0 && expired < c.cfg.opts.State.MaxConcurrent; i-- {
		if states[i].Name != taken {
			c.expireState(w, states[i].Name)
			expired++
		}
	}
}

// expireState expires the state cookie name.
func (c *Client) expireState(w http.ResponseWriter, name string) {
	cc := c.cfg.opts.State.Cookie
	http.SetCookie(w, &http.Cookie{Name: name, Path: cc.Path, Domain: cc.Domain, MaxAge: -1, HttpOnly: true, Secure: *cc.Secure, SameSite: cc.SameSite})
}

// stateCookie returns the state cookie of a new transaction. A cookie over
// cookie.MaxSize is a *ValidationError wrapping cookie.ErrTooLarge:
// browsers drop such a cookie, and the callback would then fail after the
// user signed in at the provider.
func (c *Client) stateCookie(state string, as *signInTxn, formPost bool) (*http.Cookie, error) {
	name := c.stateCookieName(state)
	value, err := c.stateCodec.Encode(name, as)
	if err != nil {
		return nil, err
	}
	if err := cookie.CheckSize(name, value); err != nil {
		return nil, &ValidationError{Message: "Sign-in state too large for a cookie: shorten the application state, the scope or the resource parameter", Err: err}
	}
	cc := c.cfg.opts.State.Cookie
	sameSite := cc.SameSite
	if formPost && *cc.Secure {
		// The provider POSTs the callback cross-site; only SameSite=None
		// cookies come along (and browsers require Secure for those).
		sameSite = http.SameSiteNoneMode
	}
	return &http.Cookie{
		Name: name, Value: value, Path: cc.Path, Domain: cc.Domain,
		MaxAge: int(c.cfg.opts.State.Duration / time.Second), HttpOnly: true, Secure: *cc.Secure, SameSite: sameSite,
	}, nil
}

// takeSignInTxn returns the transaction of state and expires its cookie.
// A missing, forged, expired or already used state is ErrInvalidState.
func (c *Client) takeSignInTxn(w http.ResponseWriter, r *http.Request, state string) (*signInTxn, error) {
	if state == "" || len(state) > 128 || strings.ContainsAny(state, "; ,\"") {
		return nil, ErrInvalidState
	}
	name := c.stateCookieName(state)
	ck, err := r.Cookie(name)
	if err != nil {
		return nil, ErrInvalidState
	}
	var as signInTxn
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

// callbackURL returns the redirect URI that the sign-in of as sent.
func (c *Client) callbackURL(as *signInTxn) string {
	return cmp.Or(as.RedirectURI, c.appURL(c.cfg.opts.Routes.Callback))
}
