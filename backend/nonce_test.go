package backend

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// nonceFixture is a fixture whose Client requires DPoP nonces of lifetime
// one minute, on the fixture's clock, and a DPoP key with a token bound to
// it.
type nonceFixture struct {
	*fixture
	nonces *hmacNonces
	key    *monocloudtest.DPoPKey
	token  string
}

func newNonceFixture(t *testing.T) *nonceFixture {
	t.Helper()
	nonces := &hmacNonces{key: []byte(strings.Repeat("k", 32)), window: time.Minute}
	f := newFixture(t, func(o *Options) { o.DPoPNonces = nonces })
	nonces.now = f.clock.now
	key := monocloudtest.NewDPoPKey(t)
	return &nonceFixture{fixture: f, nonces: nonces, key: key, token: f.mint(t, monocloudtest.AccessToken{DPoPKey: key})}
}

// call sends a DPoP request whose proof carries nonce through Protect, and
// returns the answer and the DPoP-Nonce the wrapped handler saw already
// set, if it ran.
func (f *nonceFixture) call(t *testing.T, nonce string) (a answer, setBeforeHandler string) {
	t.Helper()
	proof := f.key.SignProof(t, monocloudtest.DPoPProof{
		Method: http.MethodGet, URL: "http://api.example.com/items", AccessToken: f.token,
		Nonce: nonce, IssuedAt: f.clock.now(),
	})
	h := f.c.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setBeforeHandler = w.Header().Get("DPoP-Nonce")
		w.Write([]byte("ok"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, dpopRequest(http.MethodGet, f.token, proof))
	return answer{status: w.Code, challenge: w.Header().Values("WWW-Authenticate"), header: w.Header()}, setBeforeHandler
}

func TestDPoPNonceOnSuccess(t *testing.T) {
	for _, tc := range []struct {
		name string
		// nonce returns the nonce of the proof, after the clock is set.
		nonce     func(f *nonceFixture) string
		advance   time.Duration
		wantFresh bool
	}{
		{"current nonce: no header", func(f *nonceFixture) string { return f.nonces.Nonce() }, 0, false},
		{"previous window's nonce, still valid: the current one", func(f *nonceFixture) string {
			old := f.nonces.Nonce()
			f.clock.advance(time.Minute)
			return old
		}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNonceFixture(t)
			nonce := tc.nonce(f)
			a, seen := f.call(t, nonce)
			if a.status != http.StatusOK {
				t.Fatalf("status %d %v, want 200", a.status, a.challenge)
			}
			got := a.header.Get("DPoP-Nonce")
			switch {
			case tc.wantFresh && (got != f.nonces.Nonce() || got == nonce):
				t.Errorf("DPoP-Nonce %q, want the current nonce %q", got, f.nonces.Nonce())
			case !tc.wantFresh && got != "":
				t.Errorf("DPoP-Nonce %q on an answer to a proof with the current nonce, want none", got)
			case seen != got:
				t.Errorf("the handler saw DPoP-Nonce %q, the answer has %q: set after the handler ran", seen, got)
			}
		})
	}
	t.Run("bearer token: no header", func(t *testing.T) {
		f := newNonceFixture(t)
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 200 || a.header.Get("DPoP-Nonce") != "" {
			t.Errorf("status %d, DPoP-Nonce %q: want 200 without a nonce", a.status, a.header.Get("DPoP-Nonce"))
		}
	})
}

// TestDPoPNonceRotation plays a client that calls every 25 seconds for ten
// nonce lifetimes: if it always uses the latest nonce it was given, it gets
// one use_dpop_nonce, for its first proof, and a new nonce on the first
// success of each lifetime; if it keeps its first nonce, the nonce expires.
func TestDPoPNonceRotation(t *testing.T) {
	const step, calls = 25 * time.Second, 24 // 600 s: ten lifetimes
	for _, tc := range []struct {
		name          string
		followRenewal bool
	}{
		{"client following renewals", true},
		{"client keeping its first nonce", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNonceFixture(t)
			first, _ := f.call(t, "")
			nonce := first.header.Get("DPoP-Nonce")
			if first.status != 401 || nonce == "" || !challengeHas(first.challenge, `error="use_dpop_nonce"`) {
				t.Fatalf("first proof, without a nonce: %d %v nonce %q, want 401 use_dpop_nonce with a nonce", first.status, first.challenge, nonce)
			}
			var refused, renewed int
			for range calls {
				f.clock.advance(step)
				a, _ := f.call(t, nonce)
				switch {
				case a.status == 401 && challengeHas(a.challenge, `error="use_dpop_nonce"`):
					refused++
				case a.status != 200:
					t.Fatalf("status %d %v", a.status, a.challenge)
				}
				if fresh := a.header.Get("DPoP-Nonce"); fresh != "" && (tc.followRenewal || a.status == 401) {
					renewed++
					nonce = fresh
				}
			}
			if tc.followRenewal && (refused != 0 || renewed != 10) {
				t.Errorf("%d use_dpop_nonce answers and %d renewals, want 0 and one per lifetime (10)", refused, renewed)
			}
			if !tc.followRenewal && refused == 0 {
				t.Error("a client keeping its first nonce for ten lifetimes was never refused: the test cannot tell renewals apart")
			}
		})
	}
}
