package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultFailoverTimeout is the default of Options.FailoverTimeout.
const DefaultFailoverTimeout = 10 * time.Second

// DefaultReplicaTimeout is the default of Options.ReplicaTimeout.
const DefaultReplicaTimeout = 100 * time.Millisecond

// maxFailoverRetry caps the interval between the attempts of a write that
// waits out a failover.
const maxFailoverRetry = 500 * time.Millisecond

// setLock takes lock lk with token unless it is held (redis.Nil), and,
// when Options.Replicas is set, waits up to ReplicaTimeout for that many
// replicas to have it, so that a replica promoted after the master dies
// still has the lock. A lock that too few replicas acknowledge in time is
// taken all the same: a replica that is down must not stop every refresh.
func (s *Store) setLock(ctx context.Context, lk, token string) (string, error) {
	args := redis.SetArgs{Mode: "NX", TTL: s.lockTTL}
	if s.replicas == 0 {
		return s.rdb.SetArgs(ctx, lk, token, args).Result()
	}
	var set *redis.StatusCmd
	err := s.onMaster(ctx, lk, func(p redis.Pipeliner) {
		set = p.SetArgs(ctx, lk, token, args)
	})
	if err != nil && set != nil && errors.Is(set.Err(), redis.Nil) {
		return "", redis.Nil
	}
	if err != nil {
		return "", err
	}
	return set.Val(), nil
}

// writeThroughFailover runs the writes of write, which touch key or keys of
// its slot only (one hash tag), on
// the master that holds key, waits for Options.Replicas replicas as setLock
// does, and retries while the master is unreachable or read-only (a
// failover under way) for up to FailoverTimeout, even after ctx is
// canceled: it is for writes another instance depends on, made while the
// caller holds a lock.
func (s *Store) writeThroughFailover(ctx context.Context, key string, write func(redis.Pipeliner)) error {
	return s.throughFailover(ctx, func(ctx context.Context) error { return s.onMaster(ctx, key, write) })
}

// throughFailover runs op, again while it fails as a failover makes it
// fail, for up to FailoverTimeout, even after ctx is canceled.
func (s *Store) throughFailover(ctx context.Context, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.failoverTimeout)
	defer cancel()
	for wait := s.lockRetry; ; wait = min(2*wait, maxFailoverRetry) {
		err := op(ctx)
		if err == nil || !isFailover(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still failing after %v)", err, s.failoverTimeout)
		case <-time.After(wait):
		}
	}
}

// onMaster runs the commands of write, which touch key or keys of its slot
// only, in one
// pipeline on the master that holds key, followed by WAIT for
// Options.Replicas replicas when set (WAIT must follow the writes on their
// connection, and on a Cluster reach the writes' node).
func (s *Store) onMaster(ctx context.Context, key string, write func(redis.Pipeliner)) error {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok || s.replicas == 0 {
		return execWaiting(ctx, s.rdb.Pipeline(), write, s.replicas, s.replicaTimeout)
	}
	// The node's client bypasses the cluster client's hooks: reload the
	// slot map here (see slotReloadHook).
	master, err := cc.MasterForKey(ctx, key)
	if err == nil {
		err = execWaiting(ctx, master.Pipeline(), write, s.replicas, s.replicaTimeout)
	}
	if err != nil && isFailover(err) {
		cc.ReloadState(ctx)
	}
	return err
}

// execWaiting runs the commands of write in pipeline p, followed by WAIT
// for replicas replicas up to timeout when replicas is not 0.
func execWaiting(ctx context.Context, p redis.Pipeliner, write func(redis.Pipeliner), replicas int, timeout time.Duration) error {
	write(p)
	if replicas > 0 {
		p.Do(ctx, "WAIT", replicas, timeout.Milliseconds())
	}
	_, err := p.Exec(ctx)
	return err
}

// isFailover reports whether err is what a client sees while its master
// fails over: a connection refused, reset or timed out, or a node that is
// no longer (or not yet) the master or the cluster's slots' owner.
func isFailover(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.Nil) {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, prefix := range []string{"READONLY", "CLUSTERDOWN", "TRYAGAIN", "LOADING", "MASTERDOWN", "MOVED", "ASK"} {
			if strings.HasPrefix(msg, prefix) {
				return true
			}
		}
		return false
	}
	return true // a network error, or a connection closed under the command
}

// slotReloadHook makes a ClusterClient reload its slot map when a command
// or pipeline fails with a network error. go-redis otherwise keeps sending
// a dead master's slots to it until its periodic reload, although its
// replica took over long before; reloads are coalesced by go-redis.
type slotReloadHook struct{ cc *redis.ClusterClient }

func (h slotReloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h slotReloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.reloadOn(ctx, err)
		return err
	}
}

func (h slotReloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.reloadOn(ctx, err)
		return err
	}
}

// reloadOn reloads the slot map when err is a network error or a
// cluster error of a failover.
func (h slotReloadHook) reloadOn(ctx context.Context, err error) {
	if err != nil && isFailover(err) {
		h.cc.ReloadState(ctx)
	}
}
