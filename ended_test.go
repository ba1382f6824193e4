package monocloud

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// rvTTL is the ended sessions' TTL in these tests: the default maximum
// session duration.
const rvTTL = 7 * 24 * time.Hour

// endedAt is rv.revoked for the session cookie of session s with key,
// created at unix time created.
func endedAt(rv *endedSessions, key string, s *Session, created int64) bool {
	return rv.includes(&sessionCookie{Key: key, Lifetime: lifetime{C: created}, Session: s})
}

// TestSignOutEndedSessionsSurviveAFloodPastTheBound: sign-outs recorded just
// before a flood of one account's sign-outs past the bound still revoke
// their sessions (the evicted ones as a logout of their user), the bound
// holds, and the flood ends no session of another user.
func TestSignOutEndedSessionsSurviveAFloodPastTheBound(t *testing.T) {
	const capacity = 64
	rv := newEndedSessions(rvTTL, capacity, false)
	start := time.Unix(1_700_000_000, 0)
	victim := &Session{User: User{"sub": "victim"}}
	for i := range 32 {
		rv.addKey(fmt.Sprintf("victim-%02d", i), "victim", start)
	}
	flood := 10 * capacity
	for i := range flood {
		rv.addKey(fmt.Sprintf("k%04d", i), "attacker", start.Add(time.Duration(i)*time.Second))
	}
	if n := rv.keys.Len(); n > capacity {
		t.Errorf("%d sign-outs held, past the bound %d", n, capacity)
	}
	for i := range 32 {
		if !endedAt(rv, fmt.Sprintf("victim-%02d", i), victim, start.Unix()-10) {
			t.Errorf("the sign-out of victim-%02d was forgotten: its cookie works again", i)
		}
	}
	if endedAt(rv, "victim-new", victim, start.Unix()+1) {
		t.Error("the victim's session created after its sign-outs is revoked")
	}
	bystander := &Session{User: User{"sub": "bystander"}}
	if endedAt(rv, "bystander", bystander, start.Unix()-10) {
		t.Error("the flood of one account's sign-outs ended another user's session")
	}
	attacker := &Session{User: User{"sub": "attacker"}}
	// The last evicted sign-out was at start+(flood-capacity-1)s.
	lastEvicted := start.Unix() + int64(flood-capacity-1)
	if !endedAt(rv, "attacker-other", attacker, lastEvicted) {
		t.Error("the flooding account's session created at its last evicted sign-out is not revoked")
	}
	if endedAt(rv, "attacker-other", attacker, lastEvicted+1) {
		t.Error("the flooding account's session created after every evicted sign-out is revoked")
	}
	if !endedAt(rv, fmt.Sprintf("k%04d", flood-1), attacker, lastEvicted+1) {
		t.Error("a sign-out still held does not revoke its session")
	}
}

// TestEvictedEndedSessionOfUnknownUserFailsClosedForAll: a sign-out whose
// user is unknown, evicted, revokes every session created until then.
func TestEvictedEndedSessionOfUnknownUserFailsClosedForAll(t *testing.T) {
	rv := newEndedSessions(rvTTL, 1, false)
	start := time.Unix(1_700_000_000, 0)
	rv.addKey("a", "", start)
	rv.addKey("b", "", start.Add(time.Second))
	s := &Session{User: User{"sub": "anyone"}}
	if !endedAt(rv, "c", s, start.Unix()) {
		t.Error("a session created at the evicted sign-out of an unknown user is not revoked")
	}
	if endedAt(rv, "c", s, start.Unix()+1) {
		t.Error("a session created after it is revoked")
	}
}

// TestExpiredEndedSessionsDoNotFailClosed: ended sessions dropped after their
// TTL do not raise the watermark: the sessions they concerned have ended.
func TestExpiredEndedSessionsDoNotFailClosed(t *testing.T) {
	const capacity = 4
	rv := newEndedSessions(time.Hour, capacity, false)
	start := time.Unix(1_700_000_000, 0)
	for i := range capacity {
		rv.addKey(fmt.Sprintf("old-%d", i), "u", start)
	}
	later := start.Add(2 * time.Hour)
	for i := range capacity { // the map stays full, of live entries
		rv.addKey(fmt.Sprintf("new-%d", i), "u", later)
	}
	if endedAt(rv, "other", &Session{User: User{"sub": "u"}}, start.Unix()) {
		t.Error("a session created at the expired sign-outs is revoked")
	}
}

// TestBackChannelEndedSessionsSurviveAFloodPastTheBound: logouts by sid and
// by sub recorded before a flood past the bound still revoke the sessions
// created before them.
func TestBackChannelEndedSessionsSurviveAFloodPastTheBound(t *testing.T) {
	const capacity = 16
	start := time.Unix(1_700_000_000, 0)
	for _, kind := range []string{"sid", "sub"} {
		t.Run(kind, func(t *testing.T) {
			rv := newEndedSessions(rvTTL, capacity, false)
			victim := &Session{User: User{"sub": "victim", "sid": "victim-sid"}}
			if kind == "sid" {
				rv.add("victim", "victim-sid", start)
			} else {
				rv.add("victim", "", start)
			}
			for i := range 4 * capacity {
				sub, sid := fmt.Sprintf("u%d", i), ""
				if kind == "sid" {
					sid = fmt.Sprintf("sid%d", i)
				}
				rv.add(sub, sid, start.Add(time.Second))
			}
			if !endedAt(rv, "key", victim, start.Unix()-10) {
				t.Error("the logout was forgotten: the session works again")
			}
			if endedAt(rv, "key", victim, start.Unix()+2) {
				t.Error("a session created after the flood is revoked")
			}
		})
	}
}

// TestRevokedAllocatesNothing: the check on every request allocates
// nothing, with or without ended sessions on record (keys and claims longer
// than the 32 bytes Go concatenates on the stack).
func TestRevokedAllocatesNothing(t *testing.T) {
	rv := newEndedSessions(rvTTL, maxEnded, false)
	long := strings.Repeat("x", 40)
	key, s := "k"+long, &Session{User: User{"sub": "u" + long, "sid": "s" + long}}
	created := time.Now().Unix()
	check := func(what string) {
		t.Helper()
		if n := testing.AllocsPerRun(100, func() { endedAt(rv, key, s, created) }); n != 0 {
			t.Errorf("%s: revoked allocates %.0f times", what, n)
		}
	}
	check("no ended sessions")
	rv.addKey("other-key", "other", time.Now())
	check("a sign-out on record")
	rv.add("other", "other-sid", time.Now())
	rv.add("other", "", time.Now())
	check("logouts by sid and sub on record")
}

// TestCopiedCookieStaysSignedOutPastTheBound: a cookie copied before
// sign-out stays refused after more sign-outs than the bound, and sign-in
// still works afterwards.
func TestCopiedCookieStaysSignedOutPastTheBound(t *testing.T) {
	app := newTestApp(t, appConfig{opts: Options{FederatedSignOut: new(false)}})
	clock := app.useClock()
	const capacity = 8
	app.client.ended = newEndedSessions(app.client.cfg.opts.Session.MaximumDuration, capacity, false)
	app.signIn("")
	stolen := app.request(http.MethodGet, "/private")
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	for i := range 4 * capacity {
		app.client.ended.addKey(fmt.Sprintf("other-%d", i), "other", app.client.now())
	}
	if isAuthenticated(app.client, stolen) {
		t.Fatal("the cookie copied before sign-out opens the session again")
	}
	clock.Advance(2 * time.Second)
	app.signIn("")
	if resp, body := app.get("/private"); resp.StatusCode != http.StatusOK {
		t.Errorf("after a new sign-in: %d %q, want 200", resp.StatusCode, body)
	}
}

// scaleEndedSessions makes the Clients built during the test keep at most
// capacity ended sessions of each kind.
func scaleEndedSessions(t *testing.T, capacity int) {
	saved := maxEnded
	maxEnded = capacity
	t.Cleanup(func() { maxEnded = saved })
}

// TestOneAccountCyclingPastTheBoundSignsOnlyItselfOut: one account that
// signs in and out more times than the ended-sessions bound, through the real
// routes, ends no session of another user on either of two instances that
// share a Coordinator. The sign-out of its first session, forgotten by
// then, still refuses a copy of that session's cookie: at both instances,
// as a logout of its user.
func TestOneAccountCyclingPastTheBoundSignsOnlyItselfOut(t *testing.T) {
	const capacity = 32
	scaleEndedSessions(t, capacity)
	co := &fakeStore{}
	app := newTestApp(t, appConfig{opts: Options{Coordinator: co}})
	t.Cleanup(func() { _ = app.client.Close() })
	clock := app.useClock()
	b := newTestClient(t, Options{Coordinator: co}, monocloudtest.Config{}, app.op, app.srv.URL)
	t.Cleanup(func() { _ = b.Close() })
	b.now = clock.Now
	hb := b.AuthMiddleware(nil)(okHandler)
	serveB := func(cookies []*http.Cookie) int {
		r := httptest.NewRequest(http.MethodGet, app.url("/private"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		hb.ServeHTTP(w, r)
		return w.Code
	}

	victim, err := app.client.EncodeSession(t.Context(), &Session{User: User{"sub": "victim"}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	var firstCopy []*http.Cookie
	for i := range capacity + 8 {
		app.newBrowser()
		app.signIn("")
		if i == 0 {
			firstCopy = app.sessionCookies()
		}
		if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-out %d: %d", i, resp.StatusCode)
		}
		clock.Advance(time.Second)
	}
	if code := app.serve(http.MethodGet, "/private", victim...).Code; code != http.StatusOK {
		t.Errorf("instance A: the victim's session answers %d after another account's sign-outs; want 200", code)
	}
	if code := serveB(victim); code != http.StatusOK {
		t.Errorf("instance B: the victim's session answers %d after another account's sign-outs; want 200", code)
	}
	if code := app.serve(http.MethodGet, "/private", firstCopy...).Code; code == http.StatusOK {
		t.Error("instance A: a copy of the cookie of the first signed-out session is served once its sign-out was forgotten")
	}
	if code := serveB(firstCopy); code == http.StatusOK {
		t.Error("instance B: a copy of the cookie of the first signed-out session is served once its sign-out was forgotten")
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, r := range co.ended {
		if r.Key == "" || r.Sub == "" {
			t.Fatalf("a sign-out recorded with the Coordinator: %+v; want its key and user", r)
		}
	}
}
