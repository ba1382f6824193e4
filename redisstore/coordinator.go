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

// watchPing is how long WatchRevocations waits for a message before it
// pings Redis, and then for the answer before it gives up on the
// connection: a Redis that hangs or a connection that silently died is
// noticed within twice this.
const watchPing = time.Second

func (s *Store) refreshedKey(hash string) string { return s.prefix + "refreshed:" + hash }
func (s *Store) sidKey(sid string) string        { return s.prefix + "sid:" + sid }
func (s *Store) subKey(sub string) string        { return s.prefix + "sub:" + sub }

// revocationsKey is both the sorted set of the revocations (scored by
// their expiry, in unix milliseconds) and the channel they are published
// on.
func (s *Store) revocationsKey() string { return s.prefix + "revocations" }

// PutRefreshed keeps value under tokenHash for ttl. It waits out a
// failover (Options.FailoverTimeout): its caller holds the session's lock,
// and a refresh that is not shared makes the other instances present a
// used refresh token.
func (s *Store) PutRefreshed(ctx context.Context, tokenHash string, value []byte, ttl time.Duration) error {
	key := s.refreshedKey(tokenHash)
	if err := s.writeThroughFailover(ctx, key, func(p redis.Pipeliner) { p.Set(ctx, key, value, ttl) }); err != nil {
		return fmt.Errorf("redisstore: put refreshed session: %w", err)
	}
	return nil
}

// GetRefreshed returns the value kept under tokenHash, or (nil, nil).
func (s *Store) GetRefreshed(ctx context.Context, tokenHash string) ([]byte, error) {
	value, err := s.rdb.Get(ctx, s.refreshedKey(tokenHash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get refreshed session: %w", err)
	}
	return value, nil
}

// revokeScript adds a revocation (ARGV[1], expiring at ARGV[2], unix ms) to
// the set KEYS[1], drops the members that expired by ARGV[3] (now, unix
// ms), makes the set expire with its last member, and publishes the
// revocation on the channel of the set's name. One key: it runs on Cluster.
// It is sent in full (EVAL) in Revoke's pipeline, where EVALSHA could not
// fall back.
var revokeScript = `
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[3])
local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
redis.call("PEXPIREAT", KEYS[1], last[2])
return redis.call("PUBLISH", KEYS[1], ARGV[1])
`

// Revoke deletes the stored sessions r ends (by key, or through the sid
// and sub indexes that Set keeps, with the index), then records r until
// r.Expires and publishes it to the watchers: one round trip for a key,
// two for a sid or sub. Each command touches one key, so it works on
// Cluster. The deletion is not atomic with later writes: a session saved
// by a refresh that was already running may survive in Redis, but every
// instance refuses it through its revocations.
func (s *Store) Revoke(ctx context.Context, r monocloud.Revocation) error {
	kind, value := revocationKind(r)
	var del []string
	switch kind {
	case "":
		return errors.New("redisstore: revoke: no key, sid or sub")
	case "k":
		del = []string{s.sessionKey(value)}
	default:
		idx := s.sidKey(value)
		if kind == "u" {
			idx = s.subKey(value)
		}
		keys, err := s.rdb.SMembers(ctx, idx).Result()
		if err != nil {
			return fmt.Errorf("redisstore: revoke: reading the index: %w", err)
		}
		for _, k := range keys {
			del = append(del, s.sessionKey(k))
		}
		del = append(del, idx)
	}
	member := kind + " " + strconv.FormatInt(r.At.UnixMilli(), 10) + " " + strconv.FormatInt(r.Expires.UnixMilli(), 10) + " " + value
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range del {
			p.Del(ctx, k)
		}
		p.Eval(ctx, revokeScript, []string{s.revocationsKey()}, member, r.Expires.UnixMilli(), time.Now().UnixMilli())
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	return nil
}

// revocationKind returns the one-letter kind of r in the revocation set
// (k: session key, i: sid, u: sub) and its value.
func revocationKind(r monocloud.Revocation) (kind, value string) {
	switch {
	case r.Key != "":
		return "k", r.Key
	case r.SID != "":
		return "i", r.SID
	case r.Sub != "":
		return "u", r.Sub
	}
	return "", ""
}

// parseRevocation parses a member of the revocation set.
func parseRevocation(member string) (monocloud.Revocation, bool) {
	parts := strings.SplitN(member, " ", 4)
	if len(parts) != 4 || parts[3] == "" {
		return monocloud.Revocation{}, false
	}
	at, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return monocloud.Revocation{}, false
	}
	r := monocloud.Revocation{At: time.UnixMilli(at), Expires: time.UnixMilli(exp)}
	switch parts[0] {
	case "k":
		r.Key = parts[3]
	case "i":
		r.SID = parts[3]
	case "u":
		r.Sub = parts[3]
	default:
		return monocloud.Revocation{}, false
	}
	return r, true
}

// WatchRevocations subscribes to the revocations, delivers those recorded
// and not yet expired as soon as the subscription is confirmed (again after
// go-redis re-subscribes on a new connection, so nothing published while
// the connection was down is missed), then each one published. It pings
// Redis after watchPing without a message and returns an error when the
// ping is not answered within watchPing, or when Redis fails.
func (s *Store) WatchRevocations(ctx context.Context, fn func(monocloud.Revocation)) error {
	ps := s.rdb.Subscribe(ctx, s.revocationsKey())
	defer ps.Close()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, watchPing)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("redisstore: watching revocations: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("redisstore: watching revocations: %w", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if err := s.loadRevocations(ctx, fn); err != nil {
				return err
			}
		case *redis.Message:
			if r, ok := parseRevocation(m.Payload); ok {
				fn(r)
			}
		}
	}
}

// loadRevocations calls fn with every revocation in the set that has not
// expired.
func (s *Store) loadRevocations(ctx context.Context, fn func(monocloud.Revocation)) error {
	members, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:     s.revocationsKey(),
		ByScore: true,
		Start:   strconv.FormatInt(time.Now().UnixMilli(), 10),
		Stop:    "+inf",
	}).Result()
	if err != nil {
		return fmt.Errorf("redisstore: loading revocations: %w", err)
	}
	for _, m := range members {
		if r, ok := parseRevocation(m); ok {
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
