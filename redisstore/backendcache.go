package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/monocloud/auth-go/backend"
)

// Default key prefixes of the backend package's shared state.
const (
	DefaultIntrospectionPrefix = "monocloud:introspection:"
	DefaultReplayPrefix        = "monocloud:dpop:"
)

// IntrospectionCache is a backend.IntrospectionCache in Redis, so that
// instances of an API share introspection results. Its keys are token
// hashes, never tokens.
type IntrospectionCache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ backend.IntrospectionCache = (*IntrospectionCache)(nil)

// NewIntrospectionCache returns an IntrospectionCache using client; an
// empty prefix means DefaultIntrospectionPrefix. The backend package gives
// each call 500 ms through its ctx, which go-redis honours only if the
// client's ContextTimeoutEnabled is set; otherwise a Redis that hangs
// holds a token's first request for the client's ReadTimeout (3 s by
// default) before the token is introspected.
func NewIntrospectionCache(client redis.UniversalClient, prefix string) *IntrospectionCache {
	if prefix == "" {
		prefix = DefaultIntrospectionPrefix
	}
	return &IntrospectionCache{rdb: client, prefix: prefix}
}

// Get implements backend.IntrospectionCache.
func (c *IntrospectionCache) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.rdb.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

// Set implements backend.IntrospectionCache.
func (c *IntrospectionCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return c.rdb.Set(ctx, c.prefix+key, value, ttl).Err()
}

// ReplayStore is a backend.ReplayStore in Redis, so that a DPoP proof
// accepted by one instance of an API is refused by all.
type ReplayStore struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ backend.ReplayStore = (*ReplayStore)(nil)

// NewReplayStore returns a ReplayStore using client; an empty prefix means
// DefaultReplayPrefix.
func NewReplayStore(client redis.UniversalClient, prefix string) *ReplayStore {
	if prefix == "" {
		prefix = DefaultReplayPrefix
	}
	return &ReplayStore{rdb: client, prefix: prefix}
}

// Remember implements backend.ReplayStore with SET NX and an expiry.
func (s *ReplayStore) Remember(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := max(time.Until(until), time.Second)
	return s.rdb.SetNX(ctx, s.prefix+key, 1, ttl).Result()
}
