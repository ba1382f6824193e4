package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/redis/go-redis/v9"
)

var _ monocloud.Coordinator = (*Store)(nil)

// watchPing is how long WatchEnded waits for a message before it
// pings Redis, and then for the answer before it gives up on the
// connection: a Redis that hangs or a connection that silently died is
// noticed within twice this, and the ended sessions are reloaded on a new
// connection, well inside the library's 1 s bound for a sign-out to reach
// every instance. Each idle watch sends Redis four pings a second.
const watchPing = 250 * time.Millisecond

// maxEnded bounds the ended sessions of the set (see endSessionScript):
// about 215 MB in Redis at the bound, which each instance that starts
// loads in a few seconds.
const maxEnded = 1 << 20

func (s *Store) sidKey(sid string) string { return s.prefix + "sid:" + sid }
func (s *Store) subKey(sub string) string { return s.prefix + "sub:" + sub }
func (s *Store) usedKey(id string) string { return s.prefix + "used:" + id }

// refreshedKey is the key of the newest shared refresh of the session with
// key, and usedTokensKey the hash of the digests of the refresh tokens its
// refreshes presented (fields with empty values: small, so Redis keeps the
// hash as a listpack, up to hash-max-listpack-entries of them). The session
// key is their hash tag: on a Cluster both live in one slot, written in one
// pipeline on its master.
func (s *Store) refreshedKey(key string) string  { return s.prefix + "refreshed:{" + key + "}" }
func (s *Store) usedTokensKey(key string) string { return s.refreshedKey(key) + ":used" }

// endedKey is both the sorted set of the ended sessions (scored by
// their expiry, in unix milliseconds) and the channel they are published
// on.
func (s *Store) endedKey() string { return s.prefix + "ended" }

// PutRefreshed keeps value for the session with key, in place of the one
// kept, adds usedToken to the hash of its used tokens, and makes both
// expire in ttl: one pipeline, the value first, so that a digest found
// recorded always comes with a value at least as new as its refresh. It
// waits out a failover (Options.FailoverTimeout): its caller holds the
// session's lock, and a refresh that is not shared makes the other
// instances present a used refresh token.
func (s *Store) PutRefreshed(ctx context.Context, key, usedToken string, value []byte, ttl time.Duration) error {
	refreshed, used := s.refreshedKey(key), s.usedTokensKey(key)
	err := s.writeThroughFailover(ctx, refreshed, func(p redis.Pipeliner) {
		p.Set(ctx, refreshed, value, ttl)
		p.HSet(ctx, used, usedToken, "")
		p.PExpire(ctx, used, ttl)
	})
	if err != nil {
		return fmt.Errorf("redisstore: put refreshed session: %w", err)
	}
	return nil
}

// GetRefreshed returns the value kept for the session with key, or nil,
// and whether tokenHash is in the hash of its used tokens: one round trip.
func (s *Store) GetRefreshed(ctx context.Context, key, tokenHash string) ([]byte, bool, error) {
	var value *redis.StringCmd
	var used *redis.BoolCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		value = p.Get(ctx, s.refreshedKey(key))
		used = p.HExists(ctx, s.usedTokensKey(key), tokenHash)
		return nil
	})
	if errors.Is(err, redis.Nil) && used.Err() == nil {
		return nil, used.Val(), nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: get refreshed session: %w", err)
	}
	return []byte(value.Val()), used.Val(), nil
}

// UseTokenID records id until expires (SET NX PXAT) and reports whether it
// was not recorded yet.
func (s *Store) UseTokenID(ctx context.Context, id string, expires time.Time) (bool, error) {
	err := s.rdb.SetArgs(ctx, s.usedKey(id), 1, redis.SetArgs{Mode: "NX", ExpireAt: expires}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redisstore: recording a used token: %w", err)
	}
	return true, nil
}

// ReleaseTokenID forgets id.
func (s *Store) ReleaseTokenID(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.usedKey(id)).Err(); err != nil {
		return fmt.Errorf("redisstore: releasing a used token: %w", err)
	}
	return nil
}

// endSessionScript adds an ended session (ARGV[1], expiring at ARGV[2], unix ms) to
// the set KEYS[1], drops the members that expired by ARGV[3] (now, unix
// ms), bounds the set to ARGV[4] ended sessions, makes the set expire with its
// last member, and publishes the ended session on the channel of the set's
// name. One key: it runs on Cluster. It is sent in full (EVAL) in EndSession's
// pipeline, where EVALSHA could not fall back.
//
// Past the bound it drops the ended sessions that expire first. A dropped key
// or sid ended session of a known user, or a dropped logout by sub, becomes
// that user's forgotten member, "f <ttl> <sub>": a logout of every session
// of the user created until the latest ended session dropped, which expires
// when it does (ttl is its expiry minus its logout time). There is one per
// user and ttl, kept until it expires, so one account signing out in a
// loop keeps one. Forgotten members are scored by their expiry negated:
// the bound counts and drops only the ended sessions (scored by their expiry,
// positive), and a forgotten member has expired when its score is at least
// -now. A dropped ended session of an unknown user is lost (instances running
// still hold it).
var endSessionScript = `
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-" .. ARGV[3], ARGV[3])
-- At most 1000 at a time (unpack's limit), should the bound be lowered.
local over = math.min(redis.call("ZCOUNT", KEYS[1], 0, "+inf") - tonumber(ARGV[4]), 1000)
if over > 0 then
	local dropped = redis.call("ZRANGE", KEYS[1], 0, "+inf", "BYSCORE", "LIMIT", 0, over)
	redis.call("ZREM", KEYS[1], unpack(dropped))
	for _, m in ipairs(dropped) do
		local kind, at, exp, n, rest = string.match(m, "^(%a) (%-?%d+) (%-?%d+) (%d+) (.*)$")
		local sub = ""
		if kind == "u" then
			sub = rest
		elseif kind == "k" or kind == "i" then
			sub = string.sub(rest, tonumber(n) + 1)
		end
		if sub ~= "" then
			local ttl = string.format("%d", tonumber(exp) - tonumber(at))
			redis.call("ZADD", KEYS[1], "LT", "-" .. exp, "f " .. ttl .. " " .. sub)
		end
	end
end
local expires = 0
local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if last[2] then expires = tonumber(last[2]) end
local first = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
if first[2] and -tonumber(first[2]) > expires then expires = -tonumber(first[2]) end
redis.call("PEXPIREAT", KEYS[1], string.format("%d", expires))
return redis.call("PUBLISH", KEYS[1], ARGV[1])
`

// EndSession deletes the stored sessions r ends (by key, or through the sid
// and sub indexes that Set keeps, with the index), then records r until
// r.Expires and publishes it to the watchers: one round trip for a key,
// two for a sid or sub. Each command touches one key, so it works on
// Cluster. The deletion is not atomic with later writes: a session saved
// by a refresh that was already running may survive in Redis, but every
// instance refuses it through its ended sessions.
//
// The set holds at most about a million ended sessions (see endSessionScript): at
// the bound, about 180 MB in Redis, and 1.5 s for an instance that starts
// to load it.
func (s *Store) EndSession(ctx context.Context, r monocloud.EndedSession) error {
	member, ok := formatEnded(r)
	if !ok {
		return errors.New("redisstore: end session: no key, sid or sub")
	}
	var del []string
	switch {
	case r.Key != "":
		del = []string{s.sessionKey(r.Key)}
	default:
		idx := s.subKey(r.Sub)
		if r.SID != "" {
			idx = s.sidKey(r.SID)
		}
		keys, err := s.rdb.SMembers(ctx, idx).Result()
		if err != nil {
			return fmt.Errorf("redisstore: end session: reading the index: %w", err)
		}
		for _, k := range keys {
			del = append(del, s.sessionKey(k))
		}
		del = append(del, idx)
	}
	deleteEnded := func(p redis.Pipeliner) {
		for _, k := range del {
			p.Del(ctx, k)
		}
	}
	record := func(p redis.Pipeliner) {
		p.Eval(ctx, endSessionScript, []string{s.endedKey()}, member, r.Expires.UnixMilli(), time.Now().UnixMilli(), s.maxEnded)
	}
	// The ended session is written through a failover, and waits for
	// Options.Replicas replicas, as a shared refresh is: an ended session lost
	// with its master would serve the ended session again. On a Cluster the
	// sessions' keys live in other slots than the set's, so they are deleted
	// first, apart.
	var err error
	if _, cluster := s.rdb.(*redis.ClusterClient); cluster && s.replicas > 0 {
		err = s.throughFailover(ctx, func(ctx context.Context) error {
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { deleteEnded(p); return nil })
			return err
		})
		if err == nil {
			err = s.writeThroughFailover(ctx, s.endedKey(), record)
		}
	} else {
		err = s.writeThroughFailover(ctx, s.endedKey(), func(p redis.Pipeliner) { deleteEnded(p); record(p) })
	}
	if err != nil {
		return fmt.Errorf("redisstore: end session: %w", err)
	}
	return nil
}

// formatEnded returns r as a member of the set of ended sessions:
// "<kind> <at> <expires> <len> <value><sub>", kind being k (session key),
// i (sid) or u (sub alone), at and expires unix milliseconds, len the
// length of value in bytes, and sub the user of a key or sid.
func formatEnded(r monocloud.EndedSession) (string, bool) {
	kind, value, sub := "", "", r.Sub
	switch {
	case r.Key != "":
		kind, value = "k", r.Key
	case r.SID != "":
		kind, value = "i", r.SID
	case r.Sub != "":
		kind, value, sub = "u", r.Sub, ""
	default:
		return "", false
	}
	return kind + " " + strconv.FormatInt(r.At.UnixMilli(), 10) + " " + strconv.FormatInt(r.Expires.UnixMilli(), 10) +
		" " + strconv.Itoa(len(value)) + " " + value + sub, true
}

// parseForgotten parses a forgotten member of the set of ended sessions (see
// endSessionScript), which expires at expires (unix ms): a logout of its sub.
func parseForgotten(member string, expires int64) (monocloud.EndedSession, bool) {
	rest, ok := strings.CutPrefix(member, "f ")
	ttl, sub, _ := strings.Cut(rest, " ")
	ms, err := strconv.ParseInt(ttl, 10, 64)
	if !ok || err != nil || sub == "" {
		return monocloud.EndedSession{}, false
	}
	return monocloud.EndedSession{Sub: sub, At: time.UnixMilli(expires - ms), Expires: time.UnixMilli(expires)}, true
}

// parseEnded parses an ended session formatEnded wrote.
func parseEnded(member string) (monocloud.EndedSession, bool) {
	parts := strings.SplitN(member, " ", 5)
	if len(parts) != 5 {
		return monocloud.EndedSession{}, false
	}
	at, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	n, err3 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || n <= 0 || n > len(parts[4]) {
		return monocloud.EndedSession{}, false
	}
	value, sub := parts[4][:n], parts[4][n:]
	r := monocloud.EndedSession{Sub: sub, At: time.UnixMilli(at), Expires: time.UnixMilli(exp)}
	switch parts[0] {
	case "k":
		r.Key = value
	case "i":
		r.SID = value
	case "u":
		if sub != "" {
			return monocloud.EndedSession{}, false
		}
		r.Sub = value
	default:
		return monocloud.EndedSession{}, false
	}
	return r, true
}

// WatchEnded subscribes to the ended sessions, delivers those recorded
// and not yet expired as soon as the subscription is confirmed, then calls
// loaded (again after go-redis re-subscribes on a new connection, so
// nothing published while the connection was down is missed), then
// delivers each one published. It pings Redis after watchPing without a
// message and returns an error when the ping is not answered within
// watchPing, or when Redis fails. It returns as soon as ctx ends, however
// busy the channel: the subscription is closed then.
func (s *Store) WatchEnded(ctx context.Context, fn func(monocloud.EndedSession), loaded func()) error {
	ps := s.rdb.Subscribe(ctx, s.endedKey())
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // ends a receive under way
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, watchPing)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("redisstore: watching ended sessions: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("redisstore: watching ended sessions: %w", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			s.dropDeadConns(ctx)
			if err := s.loadEnded(ctx, fn); err != nil {
				return err
			}
			loaded()
		case *redis.Message:
			if r, ok := parseEnded(m.Payload); ok {
				fn(r)
			}
		}
	}
}

// maxProbes bounds the pings of dropDeadConns, and probeTimeout the wait
// for each answer: far above a ping's round trip to a Redis that works.
const (
	maxProbes    = 4
	probeTimeout = 100 * time.Millisecond
)

// dropDeadConns pings Redis through the client's pool, with probeTimeout
// as the timeout, until a ping is answered or maxProbes failed: each ping that
// times out discards its connection. A connection that died silently with
// the subscription's (a dropped NAT entry, a partition) would otherwise
// hold the load of the ended sessions that follows for the client's
// ReadTimeout (3 s by default). Only a *redis.Client's timeout can be
// shortened so; with other clients it does nothing.
func (s *Store) dropDeadConns(ctx context.Context) {
	if s.probe == nil {
		return
	}
	for range maxProbes {
		if s.probe.Ping(ctx).Err() == nil || ctx.Err() != nil {
			return
		}
	}
}

// loadEnded calls fn with every ended session in the set that has not
// expired: the ended sessions (scored by their expiry) and the forgotten
// members (scored by their expiry negated; see endSessionScript).
func (s *Store) loadEnded(ctx context.Context, fn func(monocloud.EndedSession)) error {
	members, err := s.rdb.ZRangeWithScores(ctx, s.endedKey(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("redisstore: loading ended sessions: %w", err)
	}
	now := time.Now().UnixMilli()
	for _, m := range members {
		member, _ := m.Member.(string)
		r, ok := parseEnded(member)
		if m.Score < 0 {
			r, ok = parseForgotten(member, int64(-m.Score))
		}
		if ok && r.Expires.UnixMilli() > now { // else expired since the last EndSession, which drops them
			fn(r)
		}
	}
	return nil
}

// indexScript adds member ARGV[1] to the index set KEYS[1] and makes the
// set live at least ARGV[2] milliseconds more.
var indexScript = `
redis.call("SADD", KEYS[1], ARGV[1])
if redis.call("PTTL", KEYS[1]) < tonumber(ARGV[2]) then
	redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`

// indexes returns the keys of the sid and sub index sets session sess
// belongs to: its user's sid and sub claims, or its ID token's when the
// user lacks them (FilteredIDTokenClaims).
func (s *Store) indexes(sess *monocloud.Session) []string {
	var claims sessionClaims
	claims.SID, _ = sess.User["sid"].(string)
	claims.Sub, _ = sess.User["sub"].(string)
	if claims.SID == "" || claims.Sub == "" {
		fromToken := idTokenClaims(sess.IDToken)
		if claims.SID == "" {
			claims.SID = fromToken.SID
		}
		if claims.Sub == "" {
			claims.Sub = fromToken.Sub
		}
	}
	var keys []string
	if claims.SID != "" {
		keys = append(keys, s.sidKey(claims.SID))
	}
	if claims.Sub != "" {
		keys = append(keys, s.subKey(claims.Sub))
	}
	return keys
}

// sessionClaims are the claims of a session's ID token the indexes use.
type sessionClaims struct {
	SID string `json:"sid"`
	Sub string `json:"sub"`
}

// idTokenClaims returns the sid and sub claims of an ID token, without
// verifying it (the Client verified it when it received it); zero when it
// is not a JWT.
func idTokenClaims(token string) sessionClaims {
	var c sessionClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		_ = json.Unmarshal(payload, &c)
	}
	return c
}
