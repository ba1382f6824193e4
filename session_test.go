package monocloud

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/monocloudtest"
)

// onlyCookie returns the only cookie of set named name.
func onlyCookie(t testing.TB, set []*http.Cookie, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range set {
		if c.Name == name {
			if found != nil {
				t.Fatalf("two Set-Cookie headers for %q", name)
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("no Set-Cookie for %q among %v", name, cookieNames(set))
	}
	return found
}

// cookieAttrs are the attributes a session cookie is expected to carry.
type cookieAttrs struct {
	path, domain     string
	httpOnly, secure bool
	sameSite         http.SameSite
}

func (a cookieAttrs) check(t testing.TB, c *http.Cookie) {
	t.Helper()
	if c.Path != a.path || c.Domain != a.domain || c.HttpOnly != a.httpOnly || c.Secure != a.secure || c.SameSite != a.sameSite {
		t.Errorf("cookie %s: Path=%q Domain=%q HttpOnly=%v Secure=%v SameSite=%v; want Path=%q Domain=%q HttpOnly=%v Secure=%v SameSite=%v",
			c.Name, c.Path, c.Domain, c.HttpOnly, c.Secure, c.SameSite, a.path, a.domain, a.httpOnly, a.secure, a.sameSite)
	}
}

// TestSessionService ports the SDK's "Session Service" tests
// (node-core/tests/session-service.test.ts) that apply to Go.
func TestSessionService(t *testing.T) {
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("should set the session cookie with configured options", func(t *testing.T) {
				for _, tc := range []struct {
					name     string
					opts     Options
					cookie   string
					attrs    cookieAttrs
					duration int64
				}{
					{"defaults", Options{}, "session", cookieAttrs{"/", "", true, true, http.SameSiteLaxMode}, 86400},
					{"custom", Options{Session: SessionOptions{
						Duration: time.Hour,
						Cookie:   CookieOptions{Name: "sid", Path: "/app", Domain: "example.com", HTTPOnly: new(false), Secure: new(true), SameSite: http.SameSiteStrictMode},
					}}, "sid", cookieAttrs{"/app", "example.com", false, true, http.SameSiteStrictMode}, 3600},
					{"SameSite=None", Options{Session: SessionOptions{Cookie: CookieOptions{SameSite: http.SameSiteNoneMode}}}, "session", cookieAttrs{"/", "", true, true, http.SameSiteNoneMode}, 86400},
					{"http app", Options{AppURL: "http://localhost:3000"}, "session", cookieAttrs{"/", "", true, false, http.SameSiteLaxMode}, 86400},
				} {
					t.Run(tc.name, func(t *testing.T) {
						env := newSessionApp(t, tc.opts, mode.store)
						resp := env.createSession(nil, sampleSession(0))
						set := resp.Cookies()
						if len(set) != 1 {
							t.Fatalf("Set-Cookie = %v, want one cookie", cookieNames(set))
						}
						ck := onlyCookie(t, set, tc.cookie)
						tc.attrs.check(t, ck)
						if got, want := ck.Expires.Unix(), env.t0+tc.duration; got != want {
							t.Errorf("Expires = %v, want created + duration = %v", ck.Expires, time.Unix(want, 0))
						}
						if ck.MaxAge != 0 {
							t.Errorf("Max-Age = %d, want none (the SDK sets Expires only)", ck.MaxAge)
						}
						lt := env.lifetime(applyCookies(nil, set))
						if lt != (lifetime{C: env.t0, U: env.t0, E: env.t0 + tc.duration}) {
							t.Errorf("lifetime = %+v, want c=u=%d e=%d", lt, env.t0, env.t0+tc.duration)
						}
					})
				}
			})

			t.Run("should be able to get the session from cookies with configured options", func(t *testing.T) {
				env := newSessionApp(t, Options{Session: SessionOptions{Cookie: CookieOptions{Name: "sid", Path: "/app"}}}, mode.store)
				want := sampleSession(100)
				have := env.signedIn(want)
				got, resp, err := env.getSession(have)
				if err != nil {
					t.Fatalf("Session: %v", err)
				}
				assertSameSession(t, got, want)
				if set := resp.Cookies(); len(set) != 0 {
					t.Errorf("reading an absolute session wrote cookies %v", cookieNames(set))
				}
			})

			t.Run("should be able to update the session from cookies with configured options ", func(t *testing.T) {
				attrs := cookieAttrs{"/app", "example.com", true, true, http.SameSiteStrictMode}
				env := newSessionApp(t, Options{Session: SessionOptions{Cookie: CookieOptions{Path: "/app", Domain: "example.com", SameSite: http.SameSiteStrictMode}}}, mode.store)
				have := env.signedIn(sampleSession(0))
				before := decodeSessionCookie(t, env.client, have)
				env.clock.Advance(5 * time.Second)
				changed := sampleSession(0)
				changed.User["name"] = "Grace"
				resp, err := env.updateSession(have, changed)
				if err != nil {
					t.Fatalf("UpdateSession: %v", err)
				}
				ck := onlyCookie(t, resp.Cookies(), "session")
				attrs.check(t, ck)
				if got, want := ck.Expires.Unix(), env.t0+86400; got != want {
					t.Errorf("Expires = %d, want unchanged %d", got, want)
				}
				have = applyCookies(have, resp.Cookies())
				after := decodeSessionCookie(t, env.client, have)
				if after.Key != before.Key {
					t.Errorf("update changed the key %q -> %q", before.Key, after.Key)
				}
				if lt := env.lifetime(have); lt != (lifetime{C: env.t0, U: env.t0 + 5, E: env.t0 + 86400}) {
					t.Errorf("lifetime = %+v, want c=%d u=%d e=%d", lt, env.t0, env.t0+5, env.t0+86400)
				}
				got, _, err := env.getSession(have)
				if err != nil {
					t.Fatal(err)
				}
				assertSameSession(t, got, changed)
				if env.store != nil && len(env.store.keys()) != 1 {
					t.Errorf("store keys = %v, want the one session", env.store.keys())
				}
			})

			t.Run("should remove the session cookie with configured options", func(t *testing.T) {
				attrs := cookieAttrs{"/app", "example.com", false, true, http.SameSiteStrictMode}
				env := newSessionApp(t, Options{Session: SessionOptions{Cookie: CookieOptions{Path: "/app", Domain: "example.com", HTTPOnly: new(false), SameSite: http.SameSiteStrictMode}}}, mode.store)
				have := env.signedIn(sampleSession(0))
				key := decodeSessionCookie(t, env.client, have).Key
				resp := env.destroySession(have)
				assertExpiresAll(t, resp, "session", "session")
				attrs.check(t, onlyCookie(t, resp.Cookies(), "session"))
				have = applyCookies(have, resp.Cookies())
				s, _, err := env.getSession(have)
				assertNoSession(t, s, err)
				if env.store != nil {
					if len(env.store.keys()) != 0 || !slices.Contains(env.store.deleted(), key) {
						t.Errorf("store keys %v, deleted %v; want %q deleted", env.store.keys(), env.store.deleted(), key)
					}
				}
			})

			t.Run("should return undefined when getting an expired session", func(t *testing.T) {
				env := newSessionApp(t, Options{Session: SessionOptions{Duration: 5 * time.Second, MaximumDuration: 100 * time.Second}}, mode.store)
				have := env.signedIn(sampleSession(0))
				key := decodeSessionCookie(t, env.client, have).Key
				env.clock.Advance(6 * time.Second)
				s, resp, err := env.getSession(have)
				assertNoSession(t, s, err)
				assertExpiresAll(t, resp, "session", "session")
				if env.store != nil && (len(env.store.keys()) != 0 || !slices.Contains(env.store.deleted(), key)) {
					t.Errorf("expired session left in the store: keys %v, deleted %v", env.store.keys(), env.store.deleted())
				}
			})

			t.Run("should return undefined when getting there is no session cookie in the request", func(t *testing.T) {
				env := newSessionApp(t, Options{}, mode.store)
				s, resp, err := env.getSession([]*http.Cookie{{Name: "other", Value: "x"}})
				assertNoSession(t, s, err)
				if set := resp.Cookies(); len(set) != 0 {
					t.Errorf("Set-Cookie %v without a session cookie", cookieNames(set))
				}
			})

			t.Run("should return undefined when getting an invalid session cookie", func(t *testing.T) {
				other := newSessionApp(t, Options{CookieSecret: "another-secret-of-enough-length!!"}, mode.store)
				foreign := other.signedIn(sampleSession(0))
				for _, tc := range []struct {
					name    string
					cookies []*http.Cookie
				}{
					{"garbage", []*http.Cookie{{Name: "session", Value: "garbage"}}},
					{"another secret", foreign},
				} {
					t.Run(tc.name, func(t *testing.T) {
						env := newSessionApp(t, Options{}, mode.store)
						s, resp, err := env.getSession(tc.cookies)
						assertNoSession(t, s, err)
						assertExpiresAll(t, resp, "session", "session")
					})
				}
			})

			t.Run("should not set expiration for non persistent sessions", func(t *testing.T) {
				env := newSessionApp(t, Options{Session: SessionOptions{Duration: 10 * time.Second, MaximumDuration: 100 * time.Second, Cookie: CookieOptions{Persistent: new(false)}}}, mode.store)
				resp := env.createSession(nil, sampleSession(0))
				ck := onlyCookie(t, resp.Cookies(), "session")
				if !ck.Expires.IsZero() || ck.MaxAge != 0 {
					t.Fatalf("non-persistent cookie has Expires=%v Max-Age=%d", ck.Expires, ck.MaxAge)
				}
				have := applyCookies(nil, resp.Cookies())
				// Deliberate deviation from the SDK: the session still ends
				// Duration after its creation on the server side.
				env.clock.Advance(10 * time.Second)
				if _, _, err := env.getSession(have); err != nil {
					t.Fatalf("Session at the end of Duration: %v", err)
				}
				env.clock.Advance(time.Second)
				s, resp, err := env.getSession(have)
				assertNoSession(t, s, err)
				assertExpiresAll(t, resp, "session", "session")
			})

			t.Run("should not update an invalid session", func(t *testing.T) {
				env := newSessionApp(t, Options{}, mode.store)
				resp, err := env.updateSession([]*http.Cookie{{Name: "session", Value: "garbage"}}, sampleSession(0))
				if !errors.Is(err, ErrNoSession) {
					t.Fatalf("UpdateSession = %v, want ErrNoSession", err)
				}
				assertExpiresAll(t, resp, "session", "session")
				if env.store != nil && env.store.calls().sets != 0 {
					t.Errorf("store written %d times", env.store.calls().sets)
				}
			})

			t.Run("should not update an expired session", func(t *testing.T) {
				env := newSessionApp(t, Options{Session: SessionOptions{Duration: 5 * time.Second, MaximumDuration: 100 * time.Second}}, mode.store)
				have := env.signedIn(sampleSession(0))
				env.clock.Advance(6 * time.Second)
				resp, err := env.updateSession(have, sampleSession(0))
				if !errors.Is(err, ErrNoSession) {
					t.Fatalf("UpdateSession = %v, want ErrNoSession", err)
				}
				assertExpiresAll(t, resp, "session", "session")
				if env.store != nil && len(env.store.keys()) != 0 {
					t.Errorf("store keys %v after updating an expired session", env.store.keys())
				}
			})

			t.Run("should remove invalid session", func(t *testing.T) {
				env := newSessionApp(t, Options{}, mode.store)
				resp := env.destroySession([]*http.Cookie{{Name: "session", Value: "garbage"}, {Name: "session.1", Value: "junk"}})
				assertExpiresAll(t, resp, "session", "session", "session.1")
			})

			t.Run("Sliding Session", func(t *testing.T) {
				sliding := func(d, maxD time.Duration) Options {
					return Options{Session: SessionOptions{Sliding: new(true), Duration: d, MaximumDuration: maxD}}
				}
				t.Run("should slide the set duration with sliding expiration", func(t *testing.T) {
					env := newSessionApp(t, sliding(10*time.Second, 100*time.Second), mode.store)
					have := env.signedIn(sampleSession(0))
					env.clock.Advance(9 * time.Second)
					resp, err := env.updateSession(have, sampleSession(0))
					if err != nil {
						t.Fatal(err)
					}
					if got := onlyCookie(t, resp.Cookies(), "session").Expires.Unix(); got != env.t0+19 {
						t.Errorf("Expires = %d, want u + duration = %d", got, env.t0+19)
					}
					if lt := env.lifetime(applyCookies(have, resp.Cookies())); lt != (lifetime{C: env.t0, U: env.t0 + 9, E: env.t0 + 19}) {
						t.Errorf("lifetime = %+v, want c=%d u=%d e=%d", lt, env.t0, env.t0+9, env.t0+19)
					}
				})
				t.Run("should not exceed max duration while the expiration is sliding", func(t *testing.T) {
					env := newSessionApp(t, sliding(7*time.Second, 10*time.Second), mode.store)
					have := env.signedIn(sampleSession(0))
					env.clock.Advance(5 * time.Second)
					resp, err := env.updateSession(have, sampleSession(0))
					if err != nil {
						t.Fatal(err)
					}
					if lt := env.lifetime(applyCookies(have, resp.Cookies())); lt.E != env.t0+10 || lt.U != env.t0+5 {
						t.Errorf("lifetime = %+v, want e = c + max duration = %d", lt, env.t0+10)
					}
				})
				t.Run("should be able to get the session from the cookies and resave it", func(t *testing.T) {
					env := newSessionApp(t, sliding(time.Hour, 24*time.Hour), mode.store)
					want := sampleSession(0)
					have := env.signedIn(want)
					env.clock.Advance(61 * time.Second)
					got, resp, err := env.getSession(have)
					if err != nil {
						t.Fatal(err)
					}
					assertSameSession(t, got, want)
					ck := onlyCookie(t, resp.Cookies(), "session")
					if ck.Expires.Unix() != env.t0+61+3600 {
						t.Errorf("resaved Expires = %d, want %d", ck.Expires.Unix(), env.t0+61+3600)
					}
					if lt := env.lifetime(applyCookies(have, resp.Cookies())); lt != (lifetime{C: env.t0, U: env.t0 + 61, E: env.t0 + 3661}) {
						t.Errorf("lifetime = %+v", lt)
					}
				})
				t.Run("should be able to get the session from the cookies and resave it (duration under a minute)", func(t *testing.T) {
					// The SDK's own setting: duration 10 s. A user active
					// every 6 s must stay signed in.
					env := newSessionApp(t, sliding(10*time.Second, 100*time.Second), mode.store)
					have := env.signedIn(sampleSession(0))
					for i := 1; i <= 5; i++ {
						env.clock.Advance(6 * time.Second)
						_, resp, err := env.getSession(have)
						if err != nil {
							t.Fatalf("request %d, %d s after the previous one (idle timeout 10 s): %v", i, 6, err)
						}
						have = applyCookies(have, resp.Cookies())
					}
				})
				t.Run("should be able to get the session from the cookies without resaving it", func(t *testing.T) {
					for _, tc := range []struct {
						name    string
						opts    Options
						advance time.Duration
					}{
						{"sliding, within a minute of the last write", sliding(time.Hour, 24*time.Hour), 30 * time.Second},
						{"absolute", Options{}, 2 * time.Hour},
					} {
						t.Run(tc.name, func(t *testing.T) {
							env := newSessionApp(t, tc.opts, mode.store)
							have := env.signedIn(sampleSession(0))
							env.clock.Advance(tc.advance)
							if _, resp, err := env.getSession(have); err != nil || len(resp.Cookies()) != 0 {
								t.Fatalf("err %v, Set-Cookie %v; want the session and no cookie", err, cookieNames(resp.Cookies()))
							}
						})
					}
				})
				t.Run("should return undefined when getting an expired session beyond the duration", func(t *testing.T) {
					env := newSessionApp(t, sliding(10*time.Second, 100*time.Second), mode.store)
					have := env.signedIn(sampleSession(0))
					env.clock.Advance(11 * time.Second)
					s, resp, err := env.getSession(have)
					assertNoSession(t, s, err)
					assertExpiresAll(t, resp, "session", "session")
				})
				t.Run("should return undefined when getting an expired session beyond the maximum duration", func(t *testing.T) {
					env := newSessionApp(t, sliding(10*time.Second, 20*time.Second), mode.store)
					have := env.signedIn(sampleSession(0))
					for _, step := range []int64{9, 9} {
						env.clock.Advance(time.Duration(step) * time.Second)
						resp, err := env.updateSession(have, sampleSession(0))
						if err != nil {
							t.Fatal(err)
						}
						have = applyCookies(have, resp.Cookies())
					}
					if lt := env.lifetime(have); lt.E != env.t0+20 {
						t.Fatalf("e = %d, want capped at c + max = %d", lt.E, env.t0+20)
					}
					env.clock.Advance(3 * time.Second) // t0+21
					s, resp, err := env.getSession(have)
					assertNoSession(t, s, err)
					assertExpiresAll(t, resp, "session", "session")
				})
			})

			t.Run("Absolute Expiration", func(t *testing.T) {
				t.Run("should not exceed the configured session duration after updating the session", func(t *testing.T) {
					env := newSessionApp(t, Options{Session: SessionOptions{Duration: 10 * time.Second, MaximumDuration: 100 * time.Second}}, mode.store)
					have := env.signedIn(sampleSession(0))
					env.clock.Advance(9 * time.Second)
					resp, err := env.updateSession(have, sampleSession(0))
					if err != nil {
						t.Fatal(err)
					}
					have = applyCookies(have, resp.Cookies())
					if lt := env.lifetime(have); lt != (lifetime{C: env.t0, U: env.t0 + 9, E: env.t0 + 10}) {
						t.Errorf("lifetime = %+v, want e = c + duration = %d", lt, env.t0+10)
					}
					env.clock.Advance(2 * time.Second)
					s, _, err := env.getSession(have)
					assertNoSession(t, s, err)
				})
			})
		})
	}
}

// TestSessionServiceDefaultStore holds the cookie-only titles: a session
// without data and chunking.
func TestSessionServiceDefaultStore(t *testing.T) {
	t.Run("should return undefined when getting a session cookie with no sesson data", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		now := env.clock.Unix()
		value, err := env.client.sessionCodec.Encode("session", &sessionCookie{Key: "k1", Lifetime: lifetime{C: now, U: now, E: now + 60}})
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := env.getSession([]*http.Cookie{{Name: "session", Value: value}})
		assertNoSession(t, s, err)
	})

	// The SDK's 2000/4000/5000 random bytes (as hex) give 2/3/4 chunks of
	// its unencoded cookies. Ours are compressed (s2, which leaves random
	// base64 as it is) and twice base64-encoded (securecookie), so the
	// sizes that give 2/3/4 chunks differ.
	chunked := []struct {
		bytes, chunks int
	}{{2500, 2}, {4000, 3}, {5500, 4}}

	t.Run("should save to chunked cookies if the session is too long", func(t *testing.T) {
		for _, tc := range chunked {
			t.Run(fmt.Sprintf("%d bytes", tc.bytes), func(t *testing.T) {
				env := newSessionApp(t, Options{}, false)
				resp := env.createSession(nil, sampleSession(tc.bytes))
				written, expired := cookieFamily(resp.Cookies(), "session")
				var want []string
				for i := range tc.chunks {
					want = append(want, fmt.Sprintf("session.%d", i))
				}
				// The request carried no session cookie: the others a
				// browser may hold are expired.
				wantExpired := []string{"session"}
				for i := tc.chunks; i < cookie.MaxChunks; i++ {
					wantExpired = append(wantExpired, fmt.Sprintf("session.%d", i))
				}
				slices.Sort(wantExpired)
				if !slices.Equal(written, want) || !slices.Equal(expired, wantExpired) {
					t.Fatalf("wrote %v, expired %v; want %v written, %v expired", written, expired, want, wantExpired)
				}
				for _, line := range resp.Header.Values("Set-Cookie") {
					if len(line) > 4096 {
						t.Errorf("Set-Cookie of %d bytes > 4096: %.60s…", len(line), line)
					}
					expiry := strings.Contains(line, "; Max-Age=0")
					if !expiry && !strings.Contains(line, "Expires=") || !strings.Contains(line, "HttpOnly") || !strings.Contains(line, "SameSite=Lax") {
						t.Errorf("chunk lacks the session cookie attributes: %.40s…%s", line, line[max(0, len(line)-90):])
					}
				}
			})
		}
	})

	t.Run("should be able to get from chunked cookies", func(t *testing.T) {
		for _, tc := range chunked {
			t.Run(fmt.Sprintf("%d chunks", tc.chunks), func(t *testing.T) {
				env := newSessionApp(t, Options{}, false)
				want := sampleSession(tc.bytes)
				have := env.signedIn(want)
				if len(have) != tc.chunks {
					t.Fatalf("browser holds %v", cookieNames(have))
				}
				got, _, err := env.getSession(have)
				if err != nil {
					t.Fatal(err)
				}
				assertSameSession(t, got, want)
			})
		}
	})

	t.Run("should be able to update chunked cookies", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		have := env.signedIn(sampleSession(4000))
		want := sampleSession(4000)
		resp, err := env.updateSession(have, want)
		if err != nil {
			t.Fatal(err)
		}
		written, expired := cookieFamily(resp.Cookies(), "session")
		if !slices.Equal(written, []string{"session.0", "session.1", "session.2"}) || len(expired) != 0 {
			t.Fatalf("wrote %v, expired %v", written, expired)
		}
		got, _, err := env.getSession(applyCookies(have, resp.Cookies()))
		if err != nil {
			t.Fatal(err)
		}
		assertSameSession(t, got, want)
	})

	t.Run("should delete unwanted chunked cookies if updated session data is smaller than before", func(t *testing.T) {
		env := newSessionApp(t, Options{Session: SessionOptions{Cookie: CookieOptions{Path: "/app", Domain: "example.com"}}}, false)
		have := env.signedIn(sampleSession(5500))
		if len(have) != 4 {
			t.Fatalf("browser holds %v, want 4 chunks", cookieNames(have))
		}
		want := sampleSession(2500)
		resp, err := env.updateSession(have, want)
		if err != nil {
			t.Fatal(err)
		}
		written, expired := cookieFamily(resp.Cookies(), "session")
		if !slices.Equal(written, []string{"session.0", "session.1"}) || !slices.Equal(expired, []string{"session.2", "session.3"}) {
			t.Fatalf("wrote %v, expired %v; want session.0-1 written, session.2-3 expired", written, expired)
		}
		attrs := cookieAttrs{"/app", "example.com", true, true, http.SameSiteLaxMode}
		for _, name := range expired {
			ck := onlyCookie(t, resp.Cookies(), name)
			attrs.check(t, ck)
			if ck.Value != "" {
				t.Errorf("expired %s has value %q", name, ck.Value)
			}
		}
		have = applyCookies(have, resp.Cookies())
		got, _, err := env.getSession(have)
		if err != nil {
			t.Fatal(err)
		}
		assertSameSession(t, got, want)
	})

	t.Run("should not be able to get invalid chunked cookies", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		have := env.signedIn(sampleSession(4000)) // session.0, .1, .2
		// Every session cookie sent is expired, except the names the
		// library never writes (session., session.foo): a browser only
		// holds those if something else set them.
		for _, tc := range []struct {
			name        string
			cookies     []*http.Cookie
			wantExpired []string
		}{
			{"a cookie named session. alone", []*http.Cookie{{Name: "session.", Value: have[0].Value}}, nil},
			{"a missing chunk", []*http.Cookie{have[0], have[2]}, []string{"session.0", "session.2"}},
			{"chunks out of order", []*http.Cookie{{Name: "session.0", Value: have[1].Value}, {Name: "session.1", Value: have[0].Value}, have[2]}, []string{"session.0", "session.1", "session.2"}},
			{"a corrupted chunk", []*http.Cookie{have[0], {Name: "session.1", Value: have[1].Value[:len(have[1].Value)-4] + "AAAA"}, have[2]}, []string{"session.0", "session.1", "session.2"}},
			{"a junk chunk name", []*http.Cookie{have[0], have[1], have[2], {Name: "session.foo", Value: "x"}}, []string{"session.0", "session.1", "session.2"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s, resp, err := env.getSession(tc.cookies)
				assertNoSession(t, s, err)
				_, expired := cookieFamily(resp.Cookies(), "session")
				slices.Sort(expired)
				if !slices.Equal(expired, tc.wantExpired) {
					t.Errorf("expired %v, want %v of the cookies sent (%v)", expired, tc.wantExpired, cookieNames(tc.cookies))
				}
			})
		}
	})

	t.Run("single and chunked cookies replace each other", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		have := env.signedIn(sampleSession(0))
		if !slices.Equal(cookieNames(have), []string{"session"}) {
			t.Fatalf("browser holds %v", cookieNames(have))
		}
		big := sampleSession(4000)
		resp, err := env.updateSession(have, big)
		if err != nil {
			t.Fatal(err)
		}
		written, expired := cookieFamily(resp.Cookies(), "session")
		if !slices.Equal(written, []string{"session.0", "session.1", "session.2"}) || !slices.Equal(expired, []string{"session"}) {
			t.Fatalf("single -> chunked wrote %v, expired %v", written, expired)
		}
		have = applyCookies(have, resp.Cookies())
		got, _, err := env.getSession(have)
		if err != nil {
			t.Fatal(err)
		}
		assertSameSession(t, got, big)

		small := sampleSession(10)
		resp, err = env.updateSession(have, small)
		if err != nil {
			t.Fatal(err)
		}
		written, expired = cookieFamily(resp.Cookies(), "session")
		if !slices.Equal(written, []string{"session"}) || !slices.Equal(expired, []string{"session.0", "session.1", "session.2"}) {
			t.Fatalf("chunked -> single wrote %v, expired %v", written, expired)
		}
		have = applyCookies(have, resp.Cookies())
		if !slices.Equal(cookieNames(have), []string{"session"}) {
			t.Fatalf("browser holds %v", cookieNames(have))
		}
		got, _, err = env.getSession(have)
		if err != nil {
			t.Fatal(err)
		}
		assertSameSession(t, got, small)
	})

	t.Run("two updates in one request leave only the last session's cookies", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		have := env.signedIn(sampleSession(0)) // one cookie: "session"
		big, smaller := sampleSession(5500), sampleSession(2500)
		var errs []error
		h := env.client.AuthMiddleware(protectNone)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			errs = append(errs, env.client.UpdateSession(r.Context(), big), env.client.UpdateSession(r.Context(), smaller))
			_, _ = io.WriteString(w, "ok")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newRequest("/", have))
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		have = applyCookies(have, rec.Result().Cookies())
		got, _, err := env.getSession(have)
		if err != nil {
			t.Fatalf("after the response the browser holds %v and its session does not read: %v", cookieNames(have), err)
		}
		assertSameSession(t, got, smaller)
	})

	t.Run("a session too large for 16 cookies is refused", func(t *testing.T) {
		env := newSessionApp(t, Options{}, false)
		have := env.signedIn(sampleSession(0))
		if _, err := env.updateSession(have, sampleSession(64<<10)); err == nil {
			t.Fatal("UpdateSession of a ~114 KB cookie succeeded")
		}
		if _, _, err := env.getSession(have); err != nil {
			t.Fatalf("the previous session was lost: %v", err)
		}
	})
}

func TestSessionServiceCustomStore(t *testing.T) {
	t.Run("the cookie holds only the key and the lifetime", func(t *testing.T) {
		env := newSessionApp(t, Options{}, true)
		want := sampleSession(4000) // would take 3 cookies without a store
		have := env.signedIn(want)
		if !slices.Equal(cookieNames(have), []string{"session"}) {
			t.Fatalf("browser holds %v, want one small cookie", cookieNames(have))
		}
		sc := decodeSessionCookie(t, env.client, have)
		if sc.Session != nil || sc.Key == "" {
			t.Fatalf("cookie = %+v, want a key and no session", sc)
		}
		env.lifetime(have)
		got, _, err := env.getSession(have)
		if err != nil {
			t.Fatal(err)
		}
		assertSameSession(t, got, want)
	})

	t.Run("should return undefined when getting a session thats not present in the store", func(t *testing.T) {
		env := newSessionApp(t, Options{}, true)
		have := env.signedIn(sampleSession(0))
		key := decodeSessionCookie(t, env.client, have).Key
		env.store.mu.Lock()
		delete(env.store.sessions, key)
		env.store.mu.Unlock()
		s, resp, err := env.getSession(have)
		assertNoSession(t, s, err)
		assertExpiresAll(t, resp, "session", "session")
	})

	t.Run("sign-in rotates the key and deletes the old entry", func(t *testing.T) {
		env := newSessionApp(t, Options{}, true)
		have := env.signedIn(sampleSession(0))
		oldKey := decodeSessionCookie(t, env.client, have).Key
		resp := env.createSession(have, sampleSession(0))
		have = applyCookies(have, resp.Cookies())
		newKey := decodeSessionCookie(t, env.client, have).Key
		if newKey == oldKey {
			t.Fatalf("second sign-in kept the key %q", oldKey)
		}
		if keys := env.store.keys(); !slices.Equal(keys, []string{newKey}) {
			t.Fatalf("store keys = %v, want only the new key", keys)
		}
		if !slices.Contains(env.store.deleted(), oldKey) {
			t.Fatalf("old key not deleted: %v", env.store.deleted())
		}
	})

	t.Run("sign-in through the provider rotates the key", func(t *testing.T) {
		store := &fakeStore{}
		app := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asStore()}})
		app.signIn("")
		first := store.keys()
		app.signIn("")
		second := store.keys()
		if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
			t.Fatalf("store keys after two sign-ins: %v then %v", first, second)
		}
		if !slices.Contains(store.deleted(), first[0]) {
			t.Fatalf("first session's entry not deleted: %v", store.deleted())
		}
	})
}

// TestSessionKeyRotation: a cookie written under a previous secret is read
// and re-written under the current one.
func TestSessionKeyRotation(t *testing.T) {
	const oldSecret, newSecret = "the-old-cookie-secret-32-bytes!!", "the-new-cookie-secret-32-bytes!!"
	old := newSessionApp(t, Options{CookieSecret: oldSecret}, false)
	want := sampleSession(4000) // chunked, to re-write every chunk
	have := old.signedIn(want)

	// The same app (issuer and client ID) after a secret rotation.
	rotated := newSessionApp(t, Options{TenantDomain: old.client.cfg.opts.TenantDomain, CookieSecret: newSecret, PreviousCookieSecrets: []string{oldSecret}}, false)
	got, resp, err := rotated.getSession(have)
	if err != nil {
		t.Fatalf("cookie of the previous secret: %v", err)
	}
	assertSameSession(t, got, want)
	written, _ := cookieFamily(resp.Cookies(), "session")
	if len(written) == 0 {
		t.Fatal("the session was not re-written with the new secret")
	}
	have = applyCookies(have, resp.Cookies())

	onlyNew := newSessionApp(t, Options{TenantDomain: old.client.cfg.opts.TenantDomain, CookieSecret: newSecret}, false)
	if _, _, err := onlyNew.getSession(have); err != nil {
		t.Fatalf("re-written cookie does not open with the new secret alone: %v", err)
	}
	if lt, orig := decodeSessionCookie(t, onlyNew.client, have).Lifetime, decodeSessionCookie(t, old.client, old.signedIn(want)).Lifetime; lt.C != orig.C {
		t.Errorf("re-writing changed the creation time: %d, want %d", lt.C, orig.C)
	}
	if _, _, err := onlyNew.getSession(old.signedIn(want)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("a cookie of an unknown secret = %v, want ErrNoSession", err)
	}
	// Re-reading the re-written cookie under rotation writes nothing more.
	if _, resp, err := rotated.getSession(have); err != nil || len(resp.Cookies()) != 0 {
		t.Fatalf("second read: err %v, Set-Cookie %v", err, cookieNames(resp.Cookies()))
	}
}

// TestCookiesBoundToTheApp: two apps that share CookieSecret (a copied
// configuration) but differ in client ID or issuer refuse each other's
// session and state cookies; the app that wrote them still accepts them.
func TestCookiesBoundToTheApp(t *testing.T) {
	a := newTestApp(t, appConfig{opcfg: adaClaims})
	a.signInVia("/api/auth/signin")
	if w := a.serve(http.MethodGet, "/api/auth/userinfo", a.sessionCookies()...); w.Code != http.StatusOK {
		t.Fatalf("app A's own session: userinfo %d", w.Code)
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"other client ID", Options{TenantDomain: a.op.Issuer(), ClientID: "other-client"}},
		{"other issuer", Options{ClientID: "test-client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec errRecorder
			tc.opts.OnError = rec.hook
			b := newTestApp(t, appConfig{opts: tc.opts})
			if b.client.cfg.opts.TenantDomain == a.client.cfg.opts.TenantDomain && b.client.cfg.opts.ClientID == a.client.cfg.opts.ClientID {
				t.Fatal("setup: the apps have the same issuer and client ID")
			}

			if w := b.serve(http.MethodGet, "/api/auth/userinfo", a.sessionCookies()...); w.Code != http.StatusNoContent {
				t.Errorf("app B's userinfo with app A's session: %d %s, want 204", w.Code, w.Body)
			}
			r := b.request(http.MethodGet, "/private")
			for _, ck := range a.sessionCookies() {
				r.AddCookie(ck)
			}
			if isAuthenticated(b.client, r) {
				t.Error("app B is authenticated by app A's session")
			}

			state, cb := startTransaction(t, a)
			atB := parseURL(t, b.url(cb.RequestURI()))
			if w := callbackRequest(t, b, atB, state); w.Code != http.StatusTeapot || !isValidation(rec.last(), "Invalid state") || !errors.Is(rec.last(), ErrInvalidState) {
				t.Errorf("app B's callback with app A's state cookie: %d, error %v; want Invalid state", w.Code, rec.last())
			}
			if w := callbackRequest(t, a, cb, state); w.Code != http.StatusTemporaryRedirect || !writesSession(w.Result()) {
				t.Errorf("app A's callback with its own state cookie: %d %s, want 307 and a session", w.Code, w.Body)
			}
		})
	}
}

// TestSessionHelpers covers the context forms of the session helpers under
// AuthMiddleware, and their refusal outside it.
func TestSessionHelpers(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{Claims: map[string]any{"groups": []any{"staff", "admins"}}}, Options{})
	c := app.client

	// serve runs fn under the middleware with the browser's cookies.
	serve := func(fn func(w http.ResponseWriter, r *http.Request)) *http.Response {
		t.Helper()
		rec := httptest.NewRecorder()
		app.mw(http.HandlerFunc(fn)).ServeHTTP(rec, app.request(http.MethodGet, "/page"))
		resp := rec.Result()
		app.absorb(resp)
		return resp
	}

	t.Run("isAuthenticated should return false if the request is not authenticated", func(t *testing.T) {
		var authed bool
		var err error
		serve(func(w http.ResponseWriter, r *http.Request) {
			authed = c.IsAuthenticated(r.Context())
			_, err = c.Session(r.Context())
		})
		if authed || !errors.Is(err, ErrNoSession) {
			t.Fatalf("IsAuthenticated = %v, Session err = %v", authed, err)
		}
	})

	app.signIn("")

	t.Run("isAuthenticated should return true if the request is authenticated and has a session", func(t *testing.T) {
		var authed bool
		serve(func(w http.ResponseWriter, r *http.Request) { authed = c.IsAuthenticated(r.Context()) })
		if !authed {
			t.Fatal("IsAuthenticated = false with a session")
		}
	})

	t.Run("getSession should return the session", func(t *testing.T) {
		var s *Session
		var err error
		serve(func(w http.ResponseWriter, r *http.Request) { s, err = c.Session(r.Context()) })
		if err != nil || s.User.Subject() != "user-1" || s.RefreshToken == "" || len(s.AccessTokens) != 1 || s.AuthorizedScopes != "openid profile email" {
			t.Fatalf("Session = %+v, %v", s, err)
		}
	})

	t.Run("the session is a copy", func(t *testing.T) {
		var again *Session
		serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := c.Session(r.Context())
			s.User["name"] = "changed"
			s.AccessTokens[0].AccessToken = "changed"
			again, _ = c.Session(r.Context())
		})
		if again.User["name"] == "changed" || again.AccessTokens[0].AccessToken == "changed" {
			t.Fatalf("changing the returned session changed the request's session: %+v", again)
		}
	})

	t.Run("updateSession should update the session", func(t *testing.T) {
		var seen *Session
		var err error
		resp := serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := c.Session(r.Context())
			s.Extra = map[string]any{"theme": "dark"}
			if err = c.UpdateSession(r.Context(), s); err != nil {
				return
			}
			seen, _ = c.Session(r.Context()) // later helpers see the update
			_, _ = io.WriteString(w, "ok")
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen == nil || seen.Extra["theme"] != "dark" {
			t.Fatalf("Session after UpdateSession in the same request = %+v", seen)
		}
		if written, _ := cookieFamily(resp.Cookies(), "session"); len(written) == 0 {
			t.Fatal("UpdateSession's cookie did not reach the response")
		}
		if s := app.session(); s == nil || s.Extra["theme"] != "dark" {
			t.Fatalf("next request's session = %+v", s)
		}
	})

	t.Run("updateSession after the response header was written reports an error", func(t *testing.T) {
		var err error
		serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := c.Session(r.Context())
			w.WriteHeader(http.StatusOK)
			s.Extra = map[string]any{"theme": "light"}
			err = c.UpdateSession(r.Context(), s)
		})
		if err == nil {
			t.Fatal("UpdateSession after WriteHeader returned nil; the browser never gets the change")
		}
		if s := app.session(); s.Extra["theme"] != "dark" {
			t.Fatalf("session changed to %+v", s.Extra)
		}
	})

	t.Run("isUserInGroup under the middleware", func(t *testing.T) {
		var in, all, out bool
		serve(func(w http.ResponseWriter, r *http.Request) {
			in = c.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"nobody", "staff"}})
			all = c.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"staff", "admins"}, MatchAll: true})
			out = c.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"staff", "nobody"}, MatchAll: true})
		})
		if !in || !all || out {
			t.Fatalf("IsUserInGroup any=%v all=%v all-with-missing=%v; want true true false", in, all, out)
		}
	})

	t.Run("changing nested values of a returned session changes no later request", func(t *testing.T) {
		// Session documents its result as a copy to be changed only through
		// UpdateSession; the groups claim is what group checks rely on.
		serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := c.Session(r.Context())
			groups, _ := s.User["groups"].([]any)
			if len(groups) == 0 {
				t.Fatalf("user has no groups: %v", s.User)
			}
			groups[0] = "root"
		})
		var inRoot bool
		var groups any
		serve(func(w http.ResponseWriter, r *http.Request) {
			inRoot = c.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"root"}})
			s, _ := c.Session(r.Context())
			groups = s.User["groups"]
		})
		if inRoot {
			t.Fatalf("a later request with the same cookie sees the caller's change: groups %v", groups)
		}
	})

	t.Run("should destroy session", func(t *testing.T) {
		var err error
		var after bool
		resp := serve(func(w http.ResponseWriter, r *http.Request) {
			err = c.DestroySession(r.Context())
			after = c.IsAuthenticated(r.Context())
		})
		if err != nil || after {
			t.Fatalf("DestroySession = %v, authenticated after = %v", err, after)
		}
		assertExpiresAll(t, resp, "session", "session")
		if s := app.session(); s != nil {
			t.Fatalf("session after DestroySession: %+v", s)
		}
	})
}

func TestSessionHelpersOutsideMiddleware(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	other := newTokensApp(t, monocloudtest.Config{}, Options{})
	setDefaultClient(t, app.client)
	c := app.client

	var otherCtx context.Context
	rec := httptest.NewRecorder()
	other.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherCtx = r.Context() })).ServeHTTP(rec, other.request(http.MethodGet, "/"))

	for _, ctx := range []struct {
		name string
		ctx  context.Context
	}{{"background context", context.Background()}, {"another client's request", otherCtx}} {
		t.Run(ctx.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				call func(context.Context) error
			}{
				{"Session", func(ctx context.Context) error { _, err := c.Session(ctx); return err }},
				{"UpdateSession", func(ctx context.Context) error { return c.UpdateSession(ctx, &Session{}) }},
				{"DestroySession", c.DestroySession},
				{"Client.GetTokens", func(ctx context.Context) error { _, err := c.GetTokens(ctx, nil); return err }},
			} {
				if err := tc.call(ctx.ctx); !errors.Is(err, ErrNoRequestContext) {
					t.Errorf("%s = %v, want ErrNoRequestContext", tc.name, err)
				}
			}
			if c.IsAuthenticated(ctx.ctx) || c.IsUserInGroup(ctx.ctx, GroupCheck{}) {
				t.Error("IsAuthenticated/IsUserInGroup true outside a request")
			}
		})
	}
	t.Run("package GetTokens with SetDefault and a background context", func(t *testing.T) {
		if _, err := GetTokens(context.Background(), nil); !errors.Is(err, ErrNoRequestContext) {
			t.Fatalf("GetTokens = %v, want ErrNoRequestContext", err)
		}
	})
}

func TestErrNoSession(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	_, err := app.tokens(nil)
	if !errors.Is(err, ErrNoSession) {
		t.Fatalf("GetTokens without a session = %v", err)
	}
	ve := asError[*ValidationError](t, err)
	if ve.Message != "Session does not exist" {
		t.Fatalf("message = %q, want the SDK's", ve.Message)
	}
	wrapped := fmt.Errorf("handler: %w", err)
	if !errors.Is(wrapped, ErrNoSession) || asError[*ValidationError](t, wrapped) == nil {
		t.Fatal("a wrapped ErrNoSession no longer matches")
	}
}

// TestIsUserInGroup ports the SDK's isUserInGroup() tests.
func TestSessionIsUserInGroup(t *testing.T) {
	const uuid = "6a8e1f0e-8b9b-4b8f-9c4e-2f1d7a9b3c11"
	user := func(groupsJSON string) User {
		u := User{"sub": "user-1"}
		if groupsJSON != "" {
			var v any
			if err := json.Unmarshal([]byte(groupsJSON), &v); err != nil {
				t.Fatal(err)
			}
			u["groups"] = v
		}
		return u
	}
	t.Run("should return expected result", func(t *testing.T) {
		for _, tc := range []struct {
			groups   string // JSON; "" for none
			expected []string
			want     bool
			matchAll bool
		}{
			{`[]`, []string{"test"}, false, false},
			{``, []string{"test"}, false, false},
			{`["test"]`, []string{"test"}, true, false},
			{`["test"]`, []string{"test", "test_2"}, true, false},
			{`["test "]`, []string{"test"}, false, false},
			{`["` + uuid + `"]`, []string{uuid}, true, false},
			{`[{"id":"` + uuid + `","name":"test"}]`, []string{uuid}, true, false},
			{`[{"id":"` + uuid + `","name":"test"}]`, []string{"test"}, true, false},
			{`["group1","group2"]`, []string{"group1", "group3"}, false, true},
			{`["group1","group2"]`, []string{"group1", "group2"}, true, true},
			{`["group1","group2","group3"]`, []string{"group1", "group2"}, true, true},
		} {
			name := fmt.Sprintf("%s/%v/%v/%v", cmp.Or(tc.groups, "undefined"), tc.expected, tc.want, tc.matchAll)
			t.Run(name, func(t *testing.T) {
				if got := inGroups(user(tc.groups), "groups", tc.expected, tc.matchAll); got != tc.want {
					t.Fatalf("inGroups = %v, want %v", got, tc.want)
				}
			})
		}
	})
	t.Run("should return false when the user groups claim is not a json array", func(t *testing.T) {
		for _, groups := range []string{`{}`, `"groups"`, `12345678`, `true`, `false`, `null`} {
			t.Run(groups, func(t *testing.T) {
				if inGroups(user(groups), "groups", []string{"groups"}, false) {
					t.Fatal("inGroups = true")
				}
			})
		}
	})
	t.Run("should return true when the expected groups are empty and session is present", func(t *testing.T) {
		if !inGroups(user(``), "groups", nil, false) || !inGroups(user(`[]`), "groups", []string{}, true) {
			t.Fatal("inGroups with no expected groups = false")
		}
	})
	t.Run("should be able to take in custom groups claim name", func(t *testing.T) {
		u := User{"sub": "user-1", "CUSTOM_GROUPS": []any{"test"}, "groups": []any{"other"}}
		if !inGroups(u, "CUSTOM_GROUPS", []string{"test"}, false) || inGroups(u, "groups", []string{"test"}, false) {
			t.Fatal("custom groups claim not used")
		}
	})
	t.Run("should return false when the session does not have a user", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		var in bool
		rec := httptest.NewRecorder()
		app.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			in = app.client.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"test"}})
		})).ServeHTTP(rec, app.request(http.MethodGet, "/"))
		if in {
			t.Fatal("IsUserInGroup = true without a session")
		}
	})
}

// TestSessionCreatedInTheFuture: a session cookie created more than the
// clock skew (60 s) ahead of now is refused and expired; one a little
// ahead is accepted. Kills: the `l.C <= now+60` check removed from
// config.valid (the control kills dropping the +60).
func TestSessionCreatedInTheFuture(t *testing.T) {
	for _, tc := range []struct {
		ahead time.Duration
		valid bool
	}{
		{time.Hour, false},
		{30 * time.Second, true},
	} {
		t.Run(fmt.Sprintf("created now+%v", tc.ahead), func(t *testing.T) {
			app := newTestApp(t, appConfig{})
			clock := app.useClock()
			clock.Advance(tc.ahead)
			cookies := mintSession(t, app.client, &Session{User: User{"sub": "user-1"}})
			clock.Advance(-tc.ahead)

			r := httptest.NewRequest(http.MethodGet, app.client.appURL("/"), nil)
			for _, ck := range cookies {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			w := httptest.NewRecorder()
			s, err := app.client.SessionWithResponse(w, r)
			if tc.valid {
				if err != nil || s.User.Subject() != "user-1" {
					t.Fatalf("Session = %+v, %v; want the session", s, err)
				}
				return
			}
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("Session = %+v, %v; want ErrNoSession", s, err)
			}
			expired := map[string]bool{}
			for _, ck := range w.Result().Cookies() {
				if ck.MaxAge < 0 {
					expired[ck.Name] = true
				}
			}
			for _, ck := range cookies {
				if !expired[ck.Name] {
					t.Errorf("cookie %s was not expired; Set-Cookie: %v", ck.Name, w.Result().Cookies())
				}
			}
		})
	}
}

// TestDestroySessionAfterHeaderWritten: when the cookies can no longer be
// expired, DestroySession says so instead of pretending to succeed.
func TestDestroySessionAfterHeaderWritten(t *testing.T) {
	var destroyErr error
	app := newTestApp(t, appConfig{build: func(c *Client) http.Handler {
		return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body first")
			destroyErr = c.DestroySession(r.Context())
		}))
	}})

	app.signIn("")
	app.get("/page")
	if !errors.Is(destroyErr, errResponseCommitted) {
		t.Fatalf("DestroySession after the body = %v, want errResponseCommitted", destroyErr)
	}
}

// TestUpdateSessionDoesNotResurrectDeletedSession: an update based on a
// session read before another instance deleted it (sign-out, back-channel
// logout) does not store it again.
func TestUpdateSessionDoesNotResurrectDeletedSession(t *testing.T) {
	store := &fakeStore{}
	app := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	app.signIn("")
	var updateErr error
	h := app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := app.client.Session(r.Context())
		if err != nil {
			t.Error(err)
			return
		}
		for _, key := range store.keys() { // another instance signs the user out
			_ = store.Delete(r.Context(), key)
		}
		updateErr = app.client.UpdateSession(r.Context(), s)
	}))
	h.ServeHTTP(httptest.NewRecorder(), app.request(http.MethodGet, "/settings"))
	if !errors.Is(updateErr, ErrNoSession) {
		t.Errorf("UpdateSession = %v, want ErrNoSession", updateErr)
	}
	if keys := store.keys(); len(keys) != 0 {
		t.Errorf("the deleted session is back in the store: %v", keys)
	}
}

// TestHookCallingHelpersDoesNotDeadlock: OnSessionCreating runs while a
// refresh holds the request; helpers called from it answer
// ErrNoRequestContext instead of blocking forever.
func TestHookCallingHelpersDoesNotDeadlock(t *testing.T) {
	var app *testApp
	var hookErr error
	app = newTokensApp(t, monocloudtest.Config{}, Options{OnSessionCreating: func(ctx context.Context, _ *Session, _, _, _ map[string]any) error {
		if app != nil && app.client != nil {
			_, hookErr = app.client.Session(ctx)
		}
		return nil
	}})
	app.signIn("")
	done := make(chan error, 1)
	go func() {
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetTokens deadlocked on a hook calling Session")
	}
	if !errors.Is(hookErr, ErrNoRequestContext) {
		t.Errorf("Session inside the hook = %v, want ErrNoRequestContext", hookErr)
	}
}

// TestStoreOutageIsNotSignOut: while the store fails, protected routes and
// sign-out answer 503 and leave the session and its cookie alone; once the
// store is back the same cookie works, and sign-out then ends it.
func TestStoreOutageIsNotSignOut(t *testing.T) {
	store := &fakeStore{}
	app := newTestApp(t, appConfig{opts: Options{Session: SessionOptions{Store: store.asLockingStore()}}})
	app.signIn("")
	store.setDown(errStoreDown)

	for _, path := range []string{"/dashboard", "/api/data", "/api/auth/signout", "/api/auth/userinfo"} {
		resp, _ := app.get(path)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d, want 503", path, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s during the outage set cookies %v", path, cookieNames(resp.Cookies()))
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s during the outage redirected to %s", path, loc)
		}
	}
	if len(app.op.EndSessionRequests()) != 0 {
		t.Error("sign-out during the outage reached the provider")
	}
	if _, err := app.client.SessionWithResponse(httptest.NewRecorder(), app.request(http.MethodGet, "/")); !errors.As(err, new(*StoreError)) || errors.Is(err, ErrNoSession) {
		t.Errorf("Session during the outage: %v, want a *StoreError", err)
	}

	store.setDown(nil)
	if resp, body := app.get("/dashboard"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the outage: %d %s", resp.StatusCode, body)
	}
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), app.op.Issuer()) {
		t.Fatalf("sign-out after the outage: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(store.keys()) != 0 {
		t.Fatalf("store still holds %v after sign-out", store.keys())
	}
}

func TestEncodeSession(t *testing.T) {
	for _, mode := range storeModes {
		t.Run(mode.name+"/the cookies carry the session, created now", func(t *testing.T) {
			app := newSessionApp(t, Options{}, mode.store)
			in := sampleSession(0)
			cookies, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := app.getSession(cookies)
			if err != nil {
				t.Fatalf("the minted cookies hold no session: %v", err)
			}
			if s.User.Subject() != "user-1" || s.RefreshToken != "refresh-token" || len(s.AccessTokens) != 1 {
				t.Errorf("session read back = %+v, want the one encoded", s)
			}
			lt := app.lifetime(cookies)
			if lt.C != app.t0 || lt.E != app.t0+int64(24*time.Hour/time.Second) {
				t.Errorf("lifetime %+v, want created at %d, expiring a day later", lt, app.t0)
			}
			if ck := cookies[0]; !ck.HttpOnly || ck.Path != "/" || !ck.Secure || ck.Expires.Unix() != lt.E {
				t.Errorf("cookie attributes %+v, want those of a signed-in session", ck)
			}
			if mode.store && len(app.store.keys()) != 1 {
				t.Errorf("store holds %d sessions, want 1", len(app.store.keys()))
			}
		})
		t.Run(mode.name+"/each call starts a new session, and s is copied", func(t *testing.T) {
			app := newSessionApp(t, Options{}, mode.store)
			in := sampleSession(0)
			a, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			in.User["name"] = "changed after encoding"
			b, err := app.client.EncodeSession(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if ka, kb := decodeSessionCookie(t, app.client, a).Key, decodeSessionCookie(t, app.client, b).Key; ka == kb {
				t.Errorf("two sessions share the key %q", ka)
			}
			if s, _, _ := app.getSession(a); s == nil || s.User["name"] != "Ada" {
				t.Errorf("first session = %+v, want the user as it was when encoded", s)
			}
		})
	}

	t.Run("a large session is chunked, and served whole", func(t *testing.T) {
		app := newSessionApp(t, Options{}, false)
		in := sampleSession(6000)
		cookies, err := app.client.EncodeSession(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(cookies) < 2 || cookies[0].Name != "session.0" {
			t.Fatalf("cookies %v, want chunks session.0, session.1, …", cookieNames(cookies))
		}
		if s, _, err := app.getSession(cookies); err != nil || s.Extra["data"] != in.Extra["data"] {
			t.Errorf("chunked session read back: %v, want the data encoded", err)
		}
	})

	t.Run("a protected handler serves the minted session", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, build: func(c *Client) http.Handler {
			return c.ProtectAPI(&ProtectOptions{GroupCheck: GroupCheck{Groups: []string{"staff"}}})(okHandler)
		}})
		member := mintSession(t, app.client, &Session{User: User{"sub": "u", "groups": []any{"staff"}}})
		other := mintSession(t, app.client, &Session{User: User{"sub": "v", "groups": []any{"guests"}}})
		for _, tc := range []struct {
			name    string
			cookies []*http.Cookie
			want    int
		}{{"member", member, 200}, {"not a member", other, 403}, {"no session", nil, 401}} {
			if w := app.serve(http.MethodGet, "/api/orders", tc.cookies...); w.Code != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
			}
		}
	})

	t.Run("refuses a session without a user sub", func(t *testing.T) {
		app := newSessionApp(t, Options{}, true)
		for name, s := range map[string]*Session{
			"nil":            nil,
			"no user":        {},
			"no sub":         {User: User{"name": "Ada"}},
			"sub not string": {User: User{"sub": 42}},
		} {
			cookies, err := app.client.EncodeSession(context.Background(), s)
			var ve *ValidationError
			if !errors.As(err, &ve) || cookies != nil || !strings.Contains(err.Error(), "sub") {
				t.Errorf("%s: %v, %v; want a *ValidationError naming sub", name, cookies, err)
			}
		}
		if n := len(app.store.keys()); n != 0 {
			t.Errorf("store holds %d sessions after refusals, want 0", n)
		}
	})

	t.Run("a store failure is a *StoreError", func(t *testing.T) {
		app := newSessionApp(t, Options{}, true)
		app.store.setDown(errStoreDown)
		_, err := app.client.EncodeSession(context.Background(), sampleSession(0))
		var se *StoreError
		if !errors.As(err, &se) || !errors.Is(err, errStoreDown) {
			t.Errorf("err = %v, want a *StoreError wrapping the store's error", err)
		}
	})
}
