package redisstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/e2e/realop"
)

// The harness of TestCluster: the real provider (e2e/realop), a
// redis-server, three processes of the application (internal/clusterapp,
// cookie sessions with the Store as Coordinator) and Debian's haproxy in
// front of them, round-robin without stickiness. The provider registers
// the load balancer's URL for the callback and for back-channel logout.

const (
	// clusterInstances is how many processes of the application run.
	clusterInstances = 3
	// clusterUsers is how many users sign in and drive the run at once.
	clusterUsers = 16
	// clusterStorm is how many concurrent requests make one refresh storm.
	clusterStorm = 6
	// clusterTokenTTL is the provider's access token lifetime: GetTokens
	// counts a token as expired 30 s before its end, so the session needs
	// a refresh about 2 s after each grant.
	clusterTokenTTL = 32 * time.Second
	// clusterPropagation is the bound within which a logout must reach
	// every instance.
	clusterPropagation = time.Second
	// redisGrace extends the Redis outage window after Redis answers again:
	// the time the instances take to drop the connections to the killed
	// server from their pools.
	redisGrace = 2 * time.Second
)

// TestCluster runs the real multi-instance harness for
// MONOCLOUD_CLUSTER_DURATION (default 12s; e.g. 60s for the long run).
// Users sign in through the provider's login form via the load balancer,
// view the protected page, and run refresh storms (clusterStorm concurrent
// GetTokens with one cookie, spread by the balancer over the instances):
// on expiry, and forced. Each user ends its session once, by signing out at
// the application or by ending its provider session (the provider then
// sends a back-channel logout through the balancer), and signs in again.
// Meanwhile Redis is killed and restarted (with its append-only file), and
// the provider's token endpoint answers 500 for a second.
//
// It asserts: one refresh grant per refresh need (a storm, retried until
// it succeeds, is one need, and each answers one new access token); no
// refresh token reuse (no refresh grant error, no revoked grant); no
// session served after its logout, checked at every instance once
// clusterPropagation has passed; 5xx answers only while Redis or the
// provider is down; no session lost (refused while not ended, or at the end
// of the run at any instance).
//
// Provider logouts are not started while a fault is injected: oidc-provider
// does not retry a back-channel logout the application could not record.
func TestCluster(t *testing.T) {
	runCluster(t, singleNodeRedis(startRedis(t)))
}

// runCluster runs the harness of TestCluster on the Redis of rdb, which
// also injects its fault.
func runCluster(t *testing.T, rdb clusterRedis) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		haproxy, err = exec.LookPath("/usr/sbin/haproxy") // not on a user's PATH
	}
	if err != nil {
		t.Fatal("TestCluster needs Debian's haproxy: apt-get install -y haproxy")
	}
	duration := 12 * time.Second
	if v := os.Getenv("MONOCLOUD_CLUSTER_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			t.Fatalf("MONOCLOUD_CLUSTER_DURATION=%q: want a duration of at least 5s", v)
		}
		duration = d
	}

	lbAddr := freeAddr(t)
	lb := "http://" + lbAddr
	op := realop.Start(t, realop.Config{
		Clients: []realop.Client{{
			ID:                     realOPClientID,
			Secret:                 realOPClientSecret,
			RedirectURIs:           []string{lb + "/api/auth/callback"},
			PostLogoutRedirectURIs: []string{lb + "/"},
			BackchannelLogoutURI:   lb + "/api/auth/backchannel-logout",
		}},
		AccessTokenTTL: clusterTokenTTL,
	})
	bin := buildClusterApp(t)
	r := &clusterRun{
		t:             t,
		op:            op,
		lb:            lb,
		endSessionURL: endSessionEndpoint(t, op),
		http: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		byInstance: map[string]int{},
	}
	var backends []string
	for i := range clusterInstances {
		addr := freeAddr(t)
		startClusterApp(t, bin, fmt.Sprintf("app%d", i), addr, rdb, op.Issuer(), lb)
		backends = append(backends, addr)
		r.instances = append(r.instances, "http://"+addr)
	}
	startHAProxy(t, haproxy, lbAddr, backends)

	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	wg.Go(func() { r.faults(rdb, start, duration) })
	for i := range clusterUsers {
		wg.Go(func() { r.user(i, start, end) })
	}
	wg.Wait()

	// The provider logs its events asynchronously: wait for the grants the
	// run counted, then for the counts to settle.
	s := r.stats
	if s.needs > 0 {
		op.WaitCount(t, "grant.success", "refresh_token", s.needs, 10*time.Second)
	}
	time.Sleep(realOPSettle)
	grants := op.Count("grant.success", "refresh_token")
	refreshErrors := op.Count("grant.error", "refresh_token")
	revoked := op.Count("grant.revoked", "")
	bcOK, bcErr := op.Count("backchannel.success", ""), op.Count("backchannel.error", "")

	t.Logf("cluster run of %v: %d instances behind haproxy, %d users", duration.Round(time.Second), clusterInstances, clusterUsers)
	t.Logf("sign-ins %d, page views %d, refresh storms %d on expiry + %d forced (%d requests, by instance %v)",
		s.signIns, s.pageViews, s.expiryStorms, s.forcedStorms, s.stormRequests, r.byInstance)
	t.Logf("sign-outs %d, provider logouts %d (back-channel deliveries %d ok, %d failed)", s.signOuts, s.providerLogouts, bcOK, bcErr)
	t.Logf("faults: %s", r.faultLog())
	t.Logf("Redis fault window %v, 5xx answers inside it %d", r.windowLength(0).Round(10*time.Millisecond), s.redisWindow5xx)
	// Ending a provider session revokes its grant; any other revocation
	// is the provider's answer to a refresh token presented twice.
	reuseRevoked := revoked - s.providerLogouts
	t.Logf("refresh needs %d, provider refresh grants %d; refresh grant errors %d, grants revoked for reuse %d (%d by provider logouts)",
		s.needs, grants, refreshErrors, reuseRevoked, s.providerLogouts)
	t.Logf("storms answering more than one access token %d", s.split)
	t.Logf("sessions served after their logout (+%v) %d, sessions lost %d", clusterPropagation, s.servedAfterLogout, s.lost)
	t.Logf("5xx answers %d while Redis or the provider was down, %d otherwise", s.faulted5xx, s.unexpected5xx)

	if grants != s.needs || refreshErrors != 0 || reuseRevoked != 0 || s.split != 0 {
		t.Errorf("%d refresh grants for %d needs, %d refresh grant errors, %d grants revoked for reuse, %d split storms; want one grant per need and 0, 0, 0",
			grants, s.needs, refreshErrors, reuseRevoked, s.split)
	}
	if s.servedAfterLogout != 0 || s.lost != 0 || s.unexpected5xx != 0 {
		t.Errorf("%d sessions served after their logout, %d sessions lost, %d 5xx outside the faults; want 0", s.servedAfterLogout, s.lost, s.unexpected5xx)
	}
	if bcOK < s.providerLogouts || bcErr != 0 {
		t.Errorf("%d back-channel logouts delivered, %d failed, for %d provider logouts", bcOK, bcErr, s.providerLogouts)
	}
	if len(r.byInstance) != clusterInstances || s.needs == 0 || s.signOuts == 0 || s.providerLogouts == 0 {
		t.Errorf("storm requests by instance %v, %d refresh needs, %d sign-outs, %d provider logouts: the run did not exercise every instance and kind",
			r.byInstance, s.needs, s.signOuts, s.providerLogouts)
	}
}

// clusterRun is the state of one TestCluster run, shared by its users.
type clusterRun struct {
	t             *testing.T
	op            *realop.Provider
	lb            string   // the load balancer's URL (the AppURL)
	instances     []string // each instance's own URL
	endSessionURL string   // the provider's end_session endpoint
	http          *http.Client

	mu         sync.Mutex
	windows    []faultWindow
	stats      clusterStats
	byInstance map[string]int // storm requests answered, by X-Instance
}

// clusterStats are the counts TestCluster reports.
type clusterStats struct {
	signIns, pageViews, expiryStorms, forcedStorms, stormRequests int
	needs                                                         int // refresh storms that succeeded
	split                                                         int // storms whose answers carried different access tokens
	signOuts, providerLogouts                                     int
	servedAfterLogout, lost                                       int
	faulted5xx, unexpected5xx                                     int
	redisWindow5xx                                                int // 5xx in the Redis fault's window
}

// faultWindow is when a fault was injected, its grace included; to is zero
// while it lasts.
type faultWindow struct {
	what     string
	from, to time.Time
}

// clusterUser is one user: a browser's cookie jar (for the provider's
// cookies) and the application's session cookie, kept by hand.
type clusterUser struct {
	login       string
	jar         http.CookieJar
	cookie      string
	accessToken string
	expires     int64 // the access token's expiry, unix seconds, or a later one
}

// answer is what the application or the balancer answered.
type answer struct {
	code     int
	instance string
	location string
	cookie   string // the live session cookie set, if any
	body     []byte
}

// count adds one to the counter that f selects.
func (r *clusterRun) count(f func(*clusterStats) *int) {
	r.mu.Lock()
	*f(&r.stats)++
	r.mu.Unlock()
}

// get sends GET base+path with the session cookie and records a 5xx (or a
// failed request) as faulted or not.
func (r *clusterRun) get(base, path, cookie string) answer {
	started := time.Now()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		r.t.Error(err)
		return answer{}
	}
	req.Header.Set("Cookie", cookie)
	resp, err := r.http.Do(req)
	if err != nil {
		r.record5xx(started, fmt.Sprintf("GET %s: %v", path, err))
		return answer{code: http.StatusBadGateway}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, instance: resp.Header.Get("X-Instance"), location: resp.Header.Get("Location"),
		cookie: liveSessionCookie(resp.Cookies()), body: body}
	if a.code >= 500 {
		r.record5xx(started, fmt.Sprintf("GET %s at %s: %d %s", path, a.instance, a.code, bytes.TrimSpace(body)))
	}
	return a
}

// record5xx counts a 5xx answer to a request sent at started, as faulted
// when a fault window overlaps the request.
func (r *clusterRun) record5xx(started time.Time, what string) {
	ended := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range r.windows {
		if !w.from.After(ended) && (w.to.IsZero() || !w.to.Before(started)) {
			r.stats.faulted5xx++
			if i == 0 {
				r.stats.redisWindow5xx++
			}
			return
		}
	}
	r.stats.unexpected5xx++
	if r.stats.unexpected5xx <= 5 {
		r.t.Logf("5xx outside the faults, %v into the run: %s", started.Sub(r.windowsBase()), what)
	}
}

// windowsBase is the start of the first fault window, or now; r.mu is held.
func (r *clusterRun) windowsBase() time.Time {
	if len(r.windows) > 0 {
		return r.windows[0].from
	}
	return time.Now()
}

// faulty reports whether a fault window is open.
func (r *clusterRun) faulty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.windows {
		if w.to.IsZero() || w.to.After(time.Now()) {
			return true
		}
	}
	return false
}

// faults injects rdb's fault at 30% of the run, and makes the provider's
// token endpoint answer 500 for a second at 60%.
func (r *clusterRun) faults(rdb clusterRedis, start time.Time, d time.Duration) {
	time.Sleep(time.Until(start.Add(d * 3 / 10)))
	i := r.openWindow(rdb.fault)
	rdb.inject()
	r.closeWindow(i, redisGrace)

	time.Sleep(time.Until(start.Add(d * 6 / 10)))
	i = r.openWindow("provider token endpoint 500 for 1 s")
	r.op.SetTokenFault(realop.Fault{Status: http.StatusInternalServerError, Body: `{"error":"server_error"}`})
	time.Sleep(time.Second)
	r.op.SetTokenFault(realop.Fault{})
	r.closeWindow(i, 0)
}

func (r *clusterRun) openWindow(what string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windows = append(r.windows, faultWindow{what: what, from: time.Now()})
	return len(r.windows) - 1
}

func (r *clusterRun) closeWindow(i int, grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windows[i].to = time.Now().Add(grace)
}

// windowLength is the length of fault window i, its grace included.
func (r *clusterRun) windowLength(i int) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.windows[i].to.Sub(r.windows[i].from)
}

// faultLog describes the fault windows.
func (r *clusterRun) faultLog() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, w := range r.windows {
		parts = append(parts, fmt.Sprintf("%s (5xx allowed for %v)", w.what, w.to.Sub(w.from).Round(10*time.Millisecond)))
	}
	return strings.Join(parts, "; ")
}

// user drives one user from start to end, and checks at the end that its
// session is served by every instance.
func (r *clusterRun) user(i int, start, end time.Time) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		r.t.Error(err)
		return
	}
	u := &clusterUser{login: fmt.Sprintf("user%d", i), jar: jar}
	if !r.signIn(u, end) {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(i), 9))
	endAt := start.Add(time.Duration(float64(end.Sub(start)) * (0.2 + 0.6*rng.Float64())))
	ended := false
	for time.Now().Before(end) {
		if !ended && time.Now().After(endAt) {
			ended = true
			if !r.endSession(u, i%2 == 0) || !r.signIn(u, end) {
				return
			}
			continue
		}
		r.pageView(u)
		switch {
		case time.Now().Unix() > u.expires-30:
			r.storm(u, false, end)
		case rng.IntN(20) == 0:
			r.storm(u, true, end)
		}
		time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
	}
	for _, base := range r.instances {
		if a := r.get(base, "/", u.cookie); a.code != http.StatusOK {
			r.t.Logf("%s at the end of the run, at %s: %d", u.login, base, a.code)
			r.count(func(s *clusterStats) *int { return &s.lost })
		}
	}
}

// signIn signs u in through the balancer, retrying while the application
// cannot complete it (the provider's token endpoint is down), up to 10 s
// after end.
func (r *clusterRun) signIn(u *clusterUser, end time.Time) bool {
	for time.Now().Before(end.Add(10 * time.Second)) {
		started := time.Now()
		resp := r.op.SignIn(r.t, &http.Client{Jar: u.jar, Timeout: 10 * time.Second}, r.lb+"/api/auth/signin", u.login)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if cookie := liveSessionCookie(resp.Cookies()); resp.StatusCode == http.StatusTemporaryRedirect && cookie != "" {
			u.cookie, u.accessToken = cookie, ""
			u.expires = time.Now().Add(clusterTokenTTL + time.Second).Unix()
			r.count(func(s *clusterStats) *int { return &s.signIns })
			return true
		}
		if resp.StatusCode < 500 {
			r.t.Errorf("%s: sign-in callback answered %s: %s", u.login, resp.Status, body)
			return false
		}
		r.record5xx(started, fmt.Sprintf("sign-in callback: %s %s", resp.Status, bytes.TrimSpace(body)))
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Errorf("%s: could not sign in", u.login)
	return false
}

// refused reports whether a is the answer to a request without a session:
// 401, or a redirect to sign-in.
func refused(a answer) bool {
	return a.code == http.StatusUnauthorized || (a.code == http.StatusTemporaryRedirect && strings.Contains(a.location, "/api/auth/signin"))
}

// pageView requests the protected page through the balancer.
func (r *clusterRun) pageView(u *clusterUser) {
	a := r.get(r.lb, "/", u.cookie)
	r.count(func(s *clusterStats) *int { return &s.pageViews })
	switch {
	case a.code == http.StatusOK:
		if a.cookie != "" {
			u.cookie = a.cookie
		}
	case refused(a):
		r.t.Logf("%s: page refused at %s: %d", u.login, a.instance, a.code)
		r.count(func(s *clusterStats) *int { return &s.lost })
	}
}

// storm sends clusterStorm concurrent GetTokens requests (forced or not)
// with u's cookie through the balancer, again until one succeeds (up to
// 10 s after end): one refresh need. Every successful answer must carry the
// same access token, a new one.
func (r *clusterRun) storm(u *clusterUser, forced bool, end time.Time) {
	path := "/api/tokens"
	if forced {
		path += "?force=1"
		r.count(func(s *clusterStats) *int { return &s.forcedStorms })
	} else {
		r.count(func(s *clusterStats) *int { return &s.expiryStorms })
	}
	for time.Now().Before(end.Add(10 * time.Second)) {
		answers := make([]answer, clusterStorm)
		var wg sync.WaitGroup
		for j := range answers {
			wg.Go(func() { answers[j] = r.get(r.lb, path, u.cookie) })
		}
		wg.Wait()
		tokens := map[string]int64{}
		var cookie string
		r.mu.Lock()
		for _, a := range answers {
			r.stats.stormRequests++
			switch {
			case a.code == http.StatusOK:
				r.byInstance[a.instance]++
				var tb struct {
					AccessToken           string `json:"accessToken"`
					AccessTokenExpiration int64  `json:"accessTokenExpiration"`
				}
				if err := json.Unmarshal(a.body, &tb); err != nil {
					r.t.Errorf("%s: GetTokens answer %q: %v", u.login, a.body, err)
				}
				tokens[tb.AccessToken] = tb.AccessTokenExpiration
				cookie = a.cookie
			case refused(a):
				r.t.Logf("%s: GetTokens refused at %s: %d", u.login, a.instance, a.code)
				r.stats.lost++
			}
		}
		if len(tokens) == 0 {
			r.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.stats.needs++
		if _, old := tokens[u.accessToken]; len(tokens) != 1 || old {
			r.t.Logf("%s: a storm answered access tokens %v (before: %q)", u.login, tokens, u.accessToken)
			r.stats.split++
		}
		r.mu.Unlock()
		for tok, exp := range tokens {
			u.accessToken, u.expires = tok, exp
		}
		if cookie != "" {
			u.cookie = cookie
		}
		return
	}
	r.t.Errorf("%s: a refresh storm never succeeded", u.login)
}

// endSession ends u's session: at the application (sign-out through the
// balancer, retried while it answers 5xx) or at the provider (which sends a
// back-channel logout through the balancer). Once clusterPropagation has
// passed, the old cookie must be refused by every instance.
func (r *clusterRun) endSession(u *clusterUser, signOut bool) bool {
	old := u.cookie
	if signOut {
		for failed := false; ; failed = true {
			a := r.get(r.lb, "/api/auth/signout", old)
			if a.code == http.StatusTemporaryRedirect && strings.HasPrefix(a.location, r.op.Issuer()+"/") {
				break
			}
			// An attempt that answered 5xx in a Redis failure may still
			// have recorded the revocation: the retry then finds no session.
			if failed && a.code == http.StatusFound && a.location == r.lb+"/" {
				break
			}
			if a.code < 500 {
				r.t.Errorf("%s: sign-out answered %d to %q; want a redirect to the provider", u.login, a.code, a.location)
				return false
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.count(func(s *clusterStats) *int { return &s.signOuts })
		// A sign-out during a Redis failover reaches the other instances
		// once their subscriptions follow the new master: the bound then
		// runs from the end of the fault window (docs/several-instances.md).
		for r.faulty() {
			time.Sleep(50 * time.Millisecond)
		}
	} else {
		for r.faulty() {
			time.Sleep(50 * time.Millisecond)
		}
		resp := r.op.SignOut(r.t, &http.Client{Jar: u.jar, Timeout: 10 * time.Second}, r.endSessionURL)
		resp.Body.Close()
		r.count(func(s *clusterStats) *int { return &s.providerLogouts })
	}
	time.Sleep(clusterPropagation)
	for _, base := range append([]string{r.lb}, r.instances...) {
		if a := r.get(base, "/", old); a.code == http.StatusOK {
			r.t.Logf("%s: served at %s %v after its logout", u.login, a.instance, clusterPropagation)
			r.count(func(s *clusterStats) *int { return &s.servedAfterLogout })
		}
	}
	return true
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// endSessionEndpoint returns op's end_session endpoint, from its discovery
// document.
func endSessionEndpoint(t *testing.T, op *realop.Provider) string {
	t.Helper()
	resp, err := http.Get(op.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery: end_session_endpoint %q, %v", meta.EndSession, err)
	}
	return meta.EndSession
}

// buildClusterApp builds internal/clusterapp, with the race detector, and
// returns the binary's path.
func buildClusterApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "clusterapp")
	out, err := exec.Command("go", "build", "-race", "-o", bin, "./internal/clusterapp").CombinedOutput()
	if err != nil {
		t.Fatalf("building internal/clusterapp: %v\n%s", err, out)
	}
	return bin
}

// startClusterApp starts an instance of the application on addr, stopped
// at the end of t, and waits until it answers.
func startClusterApp(t *testing.T, bin, name, addr string, rdb clusterRedis, issuer, appURL string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CLUSTERAPP_NAME="+name,
		"CLUSTERAPP_LISTEN="+addr,
		"CLUSTERAPP_REDIS_TOPOLOGY="+rdb.topology,
		"CLUSTERAPP_REDIS_ADDRS="+strings.Join(rdb.addrs, ","),
		"MONOCLOUD_AUTH_TENANT_DOMAIN="+issuer,
		"MONOCLOUD_AUTH_CLIENT_ID="+realOPClientID,
		"MONOCLOUD_AUTH_CLIENT_SECRET="+realOPClientSecret,
		"MONOCLOUD_AUTH_APP_URL="+appURL,
		"MONOCLOUD_AUTH_COOKIE_SECRET="+cookieSecret,
		"MONOCLOUD_AUTH_SCOPES=openid profile email",
	)
	startProcess(t, cmd, "http://"+addr+"/healthz")
}

// startHAProxy starts haproxy (the binary at path) on addr in front of
// backends: HTTP, round-robin per request, no stickiness, no health checks.
func startHAProxy(t *testing.T, path, addr string, backends []string) {
	t.Helper()
	cfg := fmt.Sprintf(`global
	maxconn 4096
defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
frontend lb
	bind %s
	default_backend app
backend app
	balance roundrobin
`, addr)
	for i, b := range backends {
		cfg += fmt.Sprintf("\tserver app%d %s\n", i, b)
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, exec.Command(path, "-db", "-f", cfgPath), "http://"+addr+"/healthz")
}

// startProcess starts cmd, killed at the end of t (its output logged if t
// failed), and waits until GET ready answers 200.
func startProcess(t *testing.T, cmd *exec.Cmd, ready string) {
	t.Helper()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer GET %s: %v\n%s", cmd.Path, ready, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
