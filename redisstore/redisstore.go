// Package redisstore is a Redis [monocloud.SessionStore] for
// github.com/monocloud/auth-go. It keeps sessions server-side, so the session
// cookie holds only a random key and the session's lifetime, and it
// implements [monocloud.SessionLocker], so that several instances of an
// application sharing one Redis run each refresh grant of a session exactly
// once: GetTokens takes the session's lock, re-reads the session, refreshes
// it only if no other instance did so meanwhile, saves it and unlocks.
//
// It also implements [monocloud.Coordinator], for cookie sessions
// (Options.Coordinator) as for stored ones: refreshes shared across
// instances, and sign-outs and back-channel logouts that reach every
// instance (a sorted set of ended sessions, published on a channel that every
// instance watches). Set indexes sessions by sid and sub, so EndSession deletes
// the stored sessions of a back-channel logout.
//
// It is a separate Go module, so that applications using cookie sessions do
// not depend on go-redis.
//
// # Guarantees and limits
//
//   - Sessions are stored as JSON (the SDK's MonoCloudSession shape) under
//     Options.Prefix + key, and Redis expires them at the session's
//     Lifetime.Expires. Set needs Redis 6.2 or later (SET … EXAT/PXAT).
//   - The lock is the single-instance Redis lock pattern (SET NX PX with a
//     random token, released by a compare-and-delete script). It is not
//     Redlock: it is correct while one Redis primary holds the key. A
//     failover to a replica that had not yet received the lock (set
//     Options.Replicas to close that window), or a holder that runs longer
//     than Options.LockTTL, can let two holders overlap. A shared refresh
//     or an ended session written during a failover is retried on the new master for up to
//     Options.FailoverTimeout.
//     Keep LockTTL above three times the client's ResponseTimeout: a
//     refresh may call the token, JWKS and userinfo endpoints while it holds
//     the lock (the defaults are 45 s and 10 s).
//   - A lock whose holder crashed is free again after LockTTL. Releasing a
//     lock never deletes a lock that expired and was taken by another
//     holder.
//   - The library takes the lock for every write of an existing session:
//     token refreshes, and also UpdateSession and the sliding-expiry
//     re-write, which re-read the session under the lock and keep tokens
//     another instance refreshed meanwhile (and never re-create a session
//     that was deleted).
//   - Waiting for a lock polls every Options.LockRetry; it is not fair (no
//     queue) and ends with the context.
//   - Redis Cluster works through redis.UniversalClient: every command and
//     script touches a single key, and pipelines (Set with its indexes,
//     EndSession) are split by slot. The two keys of a session's shared
//     refresh share its key as hash tag; a Prefix with braces puts every
//     key of the Store in one slot.
//   - Keys under Prefix: the session key (a session), key:lock (its lock),
//     sid:… and sub:… (indexes), refreshed:{key} and refreshed:{key}:used
//     (the newest refresh a cookie session shared, and the digests of the
//     refresh tokens its refreshes presented), used:… (logout tokens used,
//     until they expire) and ended (the ended sessions, also the
//     channel). Every one expires.
//   - The set of ended sessions holds at most 1,048,576 ended sessions, plus one
//     entry per user whose ended sessions it dropped to stay within that
//     bound (see Store.EndSession): about 215 MB at the bound, which an
//     instance that starts loads in a few seconds.
//   - A Redis failure is an error, never "no session": the library then
//     answers 503 (or calls OnError) and leaves the session as it was, so it
//     works again once Redis is back. Set DialTimeout, ReadTimeout and
//     WriteTimeout on the client (and mind MaxRetries): they bound how long
//     a request waits for a Redis that hangs before it answers 503.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/redis/go-redis/v9"
)

// unlockTimeout bounds a release, so that an unreachable Redis does not hold
// up the request that releases.
const unlockTimeout = 5 * time.Second

// maxReleaseRetry caps the interval between the background attempts to
// release a lock when Redis does not answer.
const maxReleaseRetry = time.Second

// Default option values.
const (
	DefaultPrefix    = "monocloud:session:"
	DefaultLockTTL   = 45 * time.Second
	DefaultLockRetry = 20 * time.Millisecond
)

// Options configures a Store. The zero value (or nil) uses the defaults.
type Options struct {
	// Prefix is put before every key of the Store (see the package
	// documentation); the lock of a session is Prefix + key + ":lock".
	// Default "monocloud:session:". Give each application sharing a Redis
	// its own prefix.
	Prefix string
	// LockTTL is how long a lock lives when its holder does not release it
	// (a crashed or hung instance). It must exceed the longest refresh: the
	// lock is held across up to three provider calls (token, JWKS, then
	// userinfo when refetched), each bounded by
	// monocloud.Options.ResponseTimeout (default 10s). Default 45s.
	LockTTL time.Duration
	// LockRetry is the polling interval while waiting for a lock held by
	// another request. Default 20ms.
	LockRetry time.Duration
	// Replicas is how many replicas must acknowledge (WAIT) a lock and a
	// shared refresh before the Store goes on, waiting up to
	// ReplicaTimeout (default 100ms): on Sentinel or Cluster set 1, so
	// that a replica promoted when the master dies holds them. Default 0
	// (a single node). See the package documentation for what a failover
	// can lose. Keep ReplicaTimeout below the client's ReadTimeout: a
	// promoted master whose replicas are gone holds WAIT for all of it.
	Replicas       int
	ReplicaTimeout time.Duration
	// FailoverTimeout bounds how long a shared refresh keeps being written
	// while the master is unreachable (a failover): keep it above the
	// failover time (Sentinel's down-after-milliseconds or Cluster's
	// cluster-node-timeout, plus a few seconds) and below LockTTL.
	// Default 10s.
	FailoverTimeout time.Duration
}

// Store is a monocloud.SessionStore, monocloud.SessionLocker and
// monocloud.Coordinator backed by Redis. It is safe for concurrent use and holds no state besides the
// client, so any number of Stores and processes may share one Redis.
type Store struct {
	rdb             redis.UniversalClient
	prefix          string
	lockTTL         time.Duration
	lockRetry       time.Duration
	replicas        int
	replicaTimeout  time.Duration
	failoverTimeout time.Duration
	// probe is rdb with probeTimeout as its timeouts when rdb is a
	// *redis.Client, else nil (see dropDeadConns).
	probe *redis.Client
	// maxEnded bounds the set of ended sessions: maxEnded, but for
	// tests.
	maxEnded int
}

var (
	_ monocloud.SessionStore  = (*Store)(nil)
	_ monocloud.SessionLocker = (*Store)(nil)
)

// unlockScript deletes the lock only if it still holds the caller's token,
// so that a lock that expired and was taken by another holder survives.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// New returns a Store using client, which may be a *redis.Client, a
// *redis.ClusterClient or a failover client. opts may be nil; zero fields
// take their defaults. The client's own timeouts bound every command. New
// adds a hook to a *redis.ClusterClient that reloads its slot map when a
// command fails with a network error, so that the client follows a
// failover at once (the hook serves every user of the client).
func New(client redis.UniversalClient, opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	if o.LockRetry <= 0 {
		o.LockRetry = DefaultLockRetry
	}
	if o.ReplicaTimeout <= 0 {
		o.ReplicaTimeout = DefaultReplicaTimeout
	}
	if o.FailoverTimeout <= 0 {
		o.FailoverTimeout = DefaultFailoverTimeout
	}
	s := &Store{rdb: client, prefix: o.Prefix, lockTTL: o.LockTTL, lockRetry: o.LockRetry,
		replicas: o.Replicas, replicaTimeout: o.ReplicaTimeout, failoverTimeout: o.FailoverTimeout,
		maxEnded: maxEnded}
	switch c := client.(type) {
	case *redis.Client:
		s.probe = c.WithTimeout(probeTimeout)
	case *redis.ClusterClient:
		c.AddHook(slotReloadHook{c})
	}
	return s
}

func (s *Store) sessionKey(key string) string { return s.prefix + key }
func (s *Store) lockKey(key string) string    { return s.prefix + key + ":lock" }

// Get returns the session stored under key, or (nil, nil) when there is
// none (never stored, deleted or expired). An error means Redis failed or
// the stored value is not a session.
func (s *Store) Get(ctx context.Context, key string) (*monocloud.Session, error) {
	data, err := s.rdb.Get(ctx, s.sessionKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get session: %w", err)
	}
	var sess monocloud.Session
	if err := json.Unmarshal(data, &sess); err != nil {
		return nil, fmt.Errorf("redisstore: decode session: %w", err)
	}
	return &sess, nil
}

// Set stores sess under key until lt.Expires, replacing any earlier value
// and its expiry. An lt.Expires that is not in the future deletes the key
// instead; a zero lt.Expires is an error (a session without an expiry would
// stay in Redis forever). Set does not take the session's lock: callers that
// need read-modify-write atomicity hold LockSession around it.
func (s *Store) Set(ctx context.Context, key string, sess *monocloud.Session, lt monocloud.Lifetime) error {
	if sess == nil {
		return errors.New("redisstore: set: nil session")
	}
	if lt.Expires.IsZero() {
		return errors.New("redisstore: set: Lifetime.Expires is zero")
	}
	// Redis compares expiries in milliseconds: anything due within the
	// current millisecond is already gone.
	if !lt.Expires.After(time.Now().Add(time.Millisecond)) {
		return s.Delete(ctx, key)
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	// One round trip: the session, and its key in the sid and sub indexes
	// (see EndSession), which live as long as their last session.
	ttl := time.Until(lt.Expires).Milliseconds() + 1
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		// ExpireAt is sent as EXAT, or PXAT when it has sub-second precision.
		p.SetArgs(ctx, s.sessionKey(key), data, redis.SetArgs{ExpireAt: lt.Expires})
		for _, idx := range s.indexes(sess) {
			p.Eval(ctx, indexScript, []string{idx}, key, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: set session: %w", err)
	}
	return nil
}

// Delete removes the session stored under key, and its key from the sid
// and sub indexes; deleting a missing key is not an error. It leaves a lock
// of the key alone (it expires on its own).
func (s *Store) Delete(ctx context.Context, key string) error {
	data, err := s.rdb.GetDel(ctx, s.sessionKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	var sess monocloud.Session
	if json.Unmarshal(data, &sess) != nil {
		return nil // not a session: nothing indexed it
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, idx := range s.indexes(&sess) {
			p.SRem(ctx, idx, key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: delete session: removing it from the indexes: %w", err)
	}
	return nil
}

// LockSession takes the lock of session key, polling every LockRetry while
// another holder has it, until it succeeds or ctx ends (the error then wraps
// ctx.Err()). A Redis error ends the wait at once and is returned.
//
// The lock expires LockTTL after it was taken even if unlock is never
// called. unlock releases it if it still holds this call's random token (a
// compare-and-delete script), so it never releases a lock that expired and
// was taken by someone else. unlock may be called more than once and after
// ctx has ended; it reports no error: if Redis does not answer, it keeps
// trying in the background until LockTTL, when the lock expires anyway. A
// LockSession that fails with a Redis error releases the same way whatever
// its SET may have taken.
//
// The lock is advisory: Get, Set and Delete do not check it. It is a
// single-instance Redis lock, not Redlock (see the package documentation).
func (s *Store) LockSession(ctx context.Context, key string) (unlock func(), err error) {
	lk := s.lockKey(key)
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	var timer *time.Timer
	for {
		ok, err := s.setLock(ctx, lk, token)
		switch {
		case err == nil && ok == "OK":
			return s.unlocker(ctx, lk, token), nil
		case errors.Is(err, redis.Nil):
			// Held by someone else: wait below.
		case err != nil:
			// The SET may have been applied although its reply was lost,
			// or be applied when a hung Redis resumes: release whatever
			// this token holds.
			s.release(ctx, lk, token)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("redisstore: waiting for the session lock: %w", ctxErr)
			}
			return nil, fmt.Errorf("redisstore: lock session: %w", err)
		}
		if timer == nil {
			timer = time.NewTimer(s.lockRetry)
			defer timer.Stop()
		} else {
			timer.Reset(s.lockRetry)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redisstore: waiting for the session lock: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// unlocker returns the release function of the lock lk held with token.
func (s *Store) unlocker(ctx context.Context, lk, token string) func() {
	var once sync.Once
	return func() {
		once.Do(func() { s.release(ctx, lk, token) })
	}
}

// release deletes the lock lk if it holds token, ignoring ctx's
// cancellation (the request may be over). When Redis does not answer within
// unlockTimeout (or LockTTL, if shorter), release returns and keeps trying
// in the background, with growing intervals, until Redis answers or LockTTL
// has passed. A Redis that hung runs the commands it had received when it
// resumes, possibly a SET of this lock after the release that was sent
// while it hung; only a release that Redis answers is known to come after
// them. Without this, the lock would block the session's refreshes and
// sign-outs until LockTTL after every hang.
func (s *Store) release(ctx context.Context, lk, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lockTTL)
	if s.tryRelease(ctx, lk, token) {
		cancel()
		return
	}
	go func() {
		defer cancel()
		for wait := s.lockRetry; ; wait = min(2*wait, maxReleaseRetry) {
			select {
			case <-ctx.Done():
				return // the lock has expired
			case <-time.After(wait):
			}
			if s.tryRelease(ctx, lk, token) {
				return
			}
		}
	}()
}

// tryRelease runs the release script once and reports whether Redis
// answered it.
func (s *Store) tryRelease(ctx context.Context, lk, token string) bool {
	ctx, cancel := context.WithTimeout(ctx, unlockTimeout)
	defer cancel()
	return unlockScript.Run(ctx, s.rdb, []string{lk}, token).Err() == nil
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("redisstore: lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
