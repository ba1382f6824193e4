package backend

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/monocloudtest"
)

// forgedKid returns token with its header naming kid, a key the provider
// never published.
func forgedKid(token, kid string) string {
	return withHeader(token, fmt.Sprintf(`{"alg":"RS256","kid":%q}`, kid))
}

// frozen returns a fixture whose client's clock moves only by
// f.clock.advance, so that the refetch interval is measured exactly.
func frozen(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	start := time.Now()
	f.c.now = func() time.Time { return start.Add(time.Duration(f.clock.offset.Load())) }
	return f
}

// TestRotationAfterAForgedKid is the review's reproduction: a forged kid
// refetches the keys, the provider rotates its key, and a token signed
// with the new key 2 s later was 401 invalid_token for the rest of the
// refetch interval. It is 503 with Retry-After up to the end of the
// interval, and the same token then is accepted with one more JWKS fetch.
func TestRotationAfterAForgedKid(t *testing.T) {
	f := frozen(t)
	if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != http.StatusOK {
		t.Fatalf("status %d", a.status)
	}
	if a := f.serve(bearer(forgedKid(f.mint(t, monocloudtest.AccessToken{}), "forged")), nil); a.status != http.StatusUnauthorized {
		t.Fatalf("forged kid: status %d, want 401", a.status)
	}
	f.op.RotateKey(t)
	f.clock.advance(2 * time.Second)
	rotated := f.mint(t, monocloudtest.AccessToken{})
	before := f.op.JWKSRequests()
	a := f.serve(bearer(rotated), nil)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "8" || len(a.challenge) != 0 {
		t.Fatalf("new key 2 s after a forged kid: status %d, Retry-After %q, challenges %q; want 503, 8, none",
			a.status, a.header.Get("Retry-After"), a.challenge)
	}
	f.clock.advance(8 * time.Second)
	if a := f.serve(bearer(rotated), nil); a.status != http.StatusOK {
		t.Errorf("the same token after Retry-After: status %d, want 200", a.status)
	}
	if n := f.op.JWKSRequests() - before; n != 1 {
		t.Errorf("%d JWKS fetches from the 503 to the 200, want 1", n)
	}
}

// TestUnknownKidAnswers: a kid the keys lack is 401 only when a refetch
// the request caused lacks it too; within the refetch interval of the
// last refetch such a token caused it is 503 with Retry-After (a forged
// kid and a rotated key look the same), and known keys are unaffected.
func TestUnknownKidAnswers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		forgedFirst bool          // a forged kid refetches the keys first
		rotate      bool          // then the provider rotates its key
		after       time.Duration // then the clock moves on
		token       string        // "forged", "valid" (signed with the current key)
		status      int
		retryAfter  string
		fetches     int // JWKS fetches caused by the token
	}{
		{"forged kid refetches", false, false, 0, "forged", 401, "", 1},
		{"forged kid right after a refetch", true, false, 0, "forged", 503, "10", 0},
		{"forged kid after the interval refetches", true, false, provider.DefaultRefetchInterval, "forged", 401, "", 1},
		{"known key within the interval", true, false, 2 * time.Second, "valid", 200, "", 0},
		{"rotated key refetches", false, true, 0, "valid", 200, "", 1},
		{"rotated key within the interval", true, true, 2 * time.Second, "valid", 503, "8", 0},
		{"rotated key after the interval refetches", true, true, provider.DefaultRefetchInterval, "valid", 200, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := frozen(t)
			if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != http.StatusOK {
				t.Fatalf("status %d", a.status)
			}
			if tc.forgedFirst {
				if a := f.serve(bearer(forgedKid(f.mint(t, monocloudtest.AccessToken{}), "first")), nil); a.status != http.StatusUnauthorized {
					t.Fatalf("first forged kid: status %d, want 401", a.status)
				}
			}
			if tc.rotate {
				f.op.RotateKey(t)
			}
			f.clock.advance(tc.after)
			token := f.mint(t, monocloudtest.AccessToken{})
			if tc.token == "forged" {
				token = forgedKid(token, "forged")
			}
			before := f.op.JWKSRequests()
			a := f.serve(bearer(token), nil)
			if a.status != tc.status || a.header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("status %d, Retry-After %q; want %d, %q", a.status, a.header.Get("Retry-After"), tc.status, tc.retryAfter)
			}
			if n := f.op.JWKSRequests() - before; n != tc.fetches {
				t.Errorf("%d JWKS fetches, want %d", n, tc.fetches)
			}
		})
	}
}

// TestForgedKeyIDsCannotStarveARotation: 1,000 forged kids within the refetch interval fetch
// the JWKS once and are all refused, and a key rotated during the flood is
// accepted once the interval ends.
func TestForgedKeyIDsCannotStarveARotation(t *testing.T) {
	f := frozen(t)
	valid := f.mint(t, monocloudtest.AccessToken{})
	if a := f.serve(bearer(valid), nil); a.status != http.StatusOK {
		t.Fatalf("status %d", a.status)
	}
	before := f.op.JWKSRequests()
	const n = 1000
	step := provider.DefaultRefetchInterval / n
	statuses := map[int]int{}
	for i := range n {
		statuses[f.serve(bearer(forgedKid(valid, fmt.Sprintf("forged-%d", i))), nil).status]++
		if i == n/2 {
			f.op.RotateKey(t)
		}
		if i < n-1 {
			f.clock.advance(step)
		}
	}
	if statuses[401]+statuses[503] != n {
		t.Errorf("answers to %d forged kids: %v, want 401 or 503 only", n, statuses)
	}
	if got := f.op.JWKSRequests() - before; got > 1 {
		t.Errorf("%d forged kids within %v: %d JWKS fetches, want at most 1", n, provider.DefaultRefetchInterval, got)
	}
	f.clock.advance(step) // the interval ends
	if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != http.StatusOK {
		t.Errorf("key rotated during the flood, after the interval: status %d, want 200", a.status)
	}
}
