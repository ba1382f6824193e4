package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

// clusterRedis is the Redis the TestCluster harness runs on, and the fault
// it injects there.
type clusterRedis struct {
	topology string   // single, sentinel or cluster
	addrs    []string // the server, the sentinels or the cluster's nodes
	fault    string   // what inject does
	inject   func()   // injects the fault, returning once Redis serves again
}

// singleNodeRedis is a single redis-server, killed and restarted (with its
// append-only file) a second later.
func singleNodeRedis(rs *redisServer) clusterRedis {
	return clusterRedis{
		topology: "single",
		addrs:    []string{rs.addr},
		fault:    "Redis killed, restarted 1 s later",
		inject: func() {
			rs.kill()
			time.Sleep(time.Second)
			rs.start()
		},
	}
}

// TestClusterSentinelFailover runs the TestCluster harness on a Sentinel
// topology whose master is killed (SIGKILL) at 30% of the run: the
// sentinels promote a replica about failoverAfter later. The window in
// which 5xx answers are allowed lasts from the kill until the sentinels
// name the new master, plus redisGrace.
func TestClusterSentinelFailover(t *testing.T) {
	st := startSentinel(t)
	runCluster(t, clusterRedis{
		topology: "sentinel",
		addrs:    st.sentinels,
		fault:    "Sentinel master killed, replica promoted",
		inject: func() {
			old := st.servers[0].addr
			killed := time.Now()
			st.servers[0].kill()
			sc := redis.NewSentinelClient(&redis.Options{Addr: st.sentinels[0]})
			defer sc.Close()
			waitUntil(t, "the sentinels to promote a replica", 30*time.Second, func() bool {
				addr, err := sc.GetMasterAddrByName(t.Context(), sentinelMaster).Result()
				return err == nil && strings.Join(addr, ":") != old
			})
			t.Logf("Sentinel: master killed, replica promoted %v later", time.Since(killed).Round(10*time.Millisecond))
		},
	})
}

// TestClusterRedisClusterFailover runs the TestCluster harness on a Redis
// Cluster one of whose masters is killed (SIGKILL) at 30% of the run: its
// replica takes over about failoverAfter later. The window in which 5xx
// answers are allowed lasts from the kill until the replica is master and
// every other node reports the cluster ok, plus redisGrace.
func TestClusterRedisClusterFailover(t *testing.T) {
	ct := startRedisCluster(t)
	runCluster(t, clusterRedis{
		topology: "cluster",
		addrs:    ct.addrs(),
		fault:    "Cluster master killed, its replica took over",
		inject: func() {
			master, replica := ct.masterWithReplica(t)
			killed := time.Now()
			master.kill()
			waitUntil(t, "the replica to take over", 30*time.Second, func() bool {
				return ct.role(replica) == "master" && ct.allOK(master)
			})
			t.Logf("Cluster: master killed, replica took over %v later", time.Since(killed).Round(10*time.Millisecond))
		},
	})
}

// masterWithReplica returns a master of the cluster and its replica.
func (ct *clusterTopology) masterWithReplica(t *testing.T) (master, replica *node) {
	t.Helper()
	for _, n := range ct.nodes {
		if ct.role(n) == "master" {
			return n, ct.replicaOf(t, n)
		}
	}
	t.Fatal("the cluster has no master")
	return nil, nil
}

// masterOfKey returns the master holding key, and its replica.
func (ct *clusterTopology) masterOfKey(t *testing.T, cc *redis.ClusterClient, key string) (master, replica *node) {
	t.Helper()
	m, err := cc.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ct.nodes {
		if n.addr == m.Options().Addr {
			return n, ct.replicaOf(t, n)
		}
	}
	t.Fatalf("no node at %s", m.Options().Addr)
	return nil, nil
}

// replicaOf returns the replica of master.
func (ct *clusterTopology) replicaOf(t *testing.T, master *node) *node {
	t.Helper()
	for _, n := range ct.nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.addr})
		role, err := rdb.Do(t.Context(), "ROLE").Slice()
		_ = rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if role[0] == "slave" && role[1].(string)+":"+strconv.FormatInt(role[2].(int64), 10) == master.addr {
			return n
		}
	}
	t.Fatalf("master %s has no replica", master.addr)
	return nil
}

// role returns the ROLE of n ("master" or "slave"), or "" when it does not
// answer.
func (ct *clusterTopology) role(n *node) string {
	rdb := redis.NewClient(&redis.Options{Addr: n.addr})
	defer rdb.Close()
	role, err := rdb.Do(context.Background(), "ROLE").Slice()
	if err != nil {
		return ""
	}
	s, _ := role[0].(string)
	return s
}

// allOK reports whether every node but down reports the cluster ok.
func (ct *clusterTopology) allOK(down *node) bool {
	for _, n := range ct.nodes {
		if n == down {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: n.addr})
		info, err := rdb.ClusterInfo(context.Background()).Result()
		_ = rdb.Close()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
	}
	return true
}

// TestSharedRefreshSurvivesFailover kills the master while a refresh grant
// is at the provider, so that the refresh is shared while the master is
// down: the Store writes it to the promoted replica (still holding the
// session's lock), and another instance given the pre-refresh cookie adopts
// it instead of presenting the used refresh token. Before, the write
// failed, the lock was released, and the provider detected the reuse.
func TestSharedRefreshSurvivesFailover(t *testing.T) {
	for _, name := range []string{"sentinel", "cluster"} {
		t.Run(name, func(t *testing.T) {
			st, ct, addrs := startTopology(t, name)
			rdb := topologyClient(t, name, addrs, &redis.UniversalOptions{
				DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
				WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
			})
			// Access tokens that stay fresh through the failover: the other
			// instance then adopts the shared refresh rather than refresh it.
			cl, _ := newCookieCluster(t, rdb, 2, cookieMode, time.Hour)
			cookie := cl.signIn()
			before, err := cl.get(0, "/tokens", cookie)
			if err != nil {
				t.Fatal(err)
			}
			// The master to kill: the one holding the shared refresh's key.
			sum := sha256.Sum256([]byte(before.RefreshToken))
			sharedKey := cl.prefix + "refreshed:" + hex.EncodeToString(sum[:])
			var master *node
			if st != nil {
				master = st.servers[0]
			} else {
				master, _ = ct.masterOfKey(t, rdb.(*redis.ClusterClient), sharedKey)
			}

			cl.op.SetTokenFault(monocloudtest.Fault{Delay: failoverAfter})
			refreshed := make(chan tokensBody)
			go func() {
				tb, err := cl.get(0, "/tokens?force=1", cookie)
				if err != nil {
					t.Error(err)
				}
				refreshed <- tb
			}()
			time.Sleep(failoverAfter / 4) // the grant is at the provider
			master.kill()
			first := <-refreshed
			cl.op.SetTokenFault(monocloudtest.Fault{})
			if first.AccessToken == "" || first.AccessToken == before.AccessToken {
				t.Fatalf("the refresh during the failover answered %+v", first)
			}

			var other tokensBody
			defer func() {
				if err != nil {
					t.Logf("the other instance's last answer: %v", err)
				}
			}()
			waitUntil(t, "the other instance to serve the pre-refresh cookie", 30*time.Second, func() bool {
				other, err = cl.get(1, "/tokens?force=1", cookie)
				return err == nil
			})
			if other.AccessToken != first.AccessToken || other.RefreshToken != first.RefreshToken {
				t.Errorf("the other instance answered access token %q; want the shared refresh's %q", other.AccessToken, first.AccessToken)
			}
			cl.expectGrants("after the failover", 1)
		})
	}
}

// TestClusterClientFollowsFailover kills the master of a key on a Cluster
// and counts the failed reads of the key once its replica has taken over:
// the hook that New adds to a ClusterClient reloads the slot map on the
// first network error, so the client follows the failover within a few
// tries. Without it, go-redis kept sending the slots to the dead master
// until its periodic reload (about 45 s under load).
func TestClusterClientFollowsFailover(t *testing.T) {
	ct := startRedisCluster(t)
	rdb := topologyClient(t, "cluster", ct.addrs(), &redis.UniversalOptions{
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
	})
	cc := rdb.(*redis.ClusterClient)
	prefix := testPrefix(t)
	store := redisstore.New(cc, &redisstore.Options{Prefix: prefix})
	if err := store.PutRefreshed(t.Context(), "key", "digest", []byte("value"), time.Minute); err != nil {
		t.Fatal(err)
	}
	master, replica := ct.masterOfKey(t, cc, prefix+"refreshed:{key}")
	master.kill()
	waitUntil(t, "the replica to take over", 30*time.Second, func() bool {
		return ct.role(replica) == "master" && ct.allOK(master)
	})
	failed := 0
	for {
		if _, _, err := store.GetRefreshed(t.Context(), "key", "digest"); err == nil {
			break
		} else if failed++; failed > 10 {
			t.Fatalf("%d reads failed after the takeover, the last with %v; want the client to follow within 10", failed, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("reads failed after the takeover: %d", failed)
}

// TestLockSurvivesFailover takes a session's lock with Replicas 1 and kills
// the master: the promoted replica holds the lock (WAIT made sure a replica
// had it), so no second holder gets it; the first holder's release reaches
// the new master.
func TestLockSurvivesFailover(t *testing.T) {
	st := startSentinel(t)
	rdb := topologyClient(t, "sentinel", st.sentinels, &redis.UniversalOptions{
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
	})
	store := redisstore.New(rdb, &redisstore.Options{Prefix: testPrefix(t), Replicas: 1})
	unlock, err := store.LockSession(t.Context(), "session")
	if err != nil {
		t.Fatal(err)
	}
	st.servers[0].kill()
	waitUntil(t, "the promoted master to answer", 30*time.Second, func() bool {
		return rdb.Ping(t.Context()).Err() == nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := store.LockSession(ctx, "session"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second LockSession after the failover: %v; want it to wait for the lock until its deadline", err)
	}
	unlock()
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	unlock3, err := store.LockSession(ctx, "session")
	if err != nil {
		t.Fatalf("the lock after its holder released it on the new master: %v", err)
	}
	unlock3()
}

// TestEndedSessionSurvivesFailover kills the master right after a sign-out
// was recorded, and records another while it is down: with Replicas 1, an
// instance that starts watching after the failover learns both from the
// promoted replica.
func TestEndedSessionSurvivesFailover(t *testing.T) {
	for _, name := range []string{"sentinel", "cluster"} {
		t.Run(name, func(t *testing.T) {
			st, ct, addrs := startTopology(t, name)
			// ReplicaTimeout is generous, so that a loaded machine does not
			// make the test pass through the documented window (no replica
			// acknowledging in time), and below ReadTimeout, as it must be:
			// after the failover the promoted master has no replica, so its
			// WAIT lasts the whole ReplicaTimeout.
			rdb := topologyClient(t, name, addrs, &redis.UniversalOptions{
				DialTimeout: 500 * time.Millisecond, ReadTimeout: 3 * time.Second,
				WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
			})
			prefix := testPrefix(t)
			store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix, Replicas: 1, ReplicaTimeout: 2 * time.Second})
			endSession := func(key string) error {
				now := time.Now()
				return store.EndSession(t.Context(), monocloud.EndedSession{Key: key, Sub: "u-" + key, At: now, Expires: now.Add(time.Hour)})
			}
			if err := endSession("before-the-kill"); err != nil {
				t.Fatal(err)
			}
			master := func() *node {
				if st != nil {
					return st.servers[0]
				}
				m, _ := ct.masterOfKey(t, rdb.(*redis.ClusterClient), prefix+"ended")
				return m
			}()
			master.kill()
			if err := endSession("during-the-failover"); err != nil {
				t.Fatalf("a session ended while the master is down: %v", err)
			}

			watcher := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
			got := make(map[string]bool)
			var mu sync.Mutex
			ctx, cancel := context.WithCancel(t.Context())
			loaded := make(chan struct{}, 1)
			go func() {
				_ = watcher.WatchEnded(ctx, func(r monocloud.EndedSession) {
					mu.Lock()
					got[r.Key] = true
					mu.Unlock()
				}, func() {
					select {
					case loaded <- struct{}{}:
					default:
					}
				})
			}()
			defer cancel()
			select {
			case <-loaded:
			case <-time.After(30 * time.Second):
				t.Fatal("the new watcher never loaded the ended sessions")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, key := range []string{"before-the-kill", "during-the-failover"} {
				if !got[key] {
					t.Errorf("ended session %q lost in the failover; the new watcher loaded %v", key, got)
				}
			}
		})
	}
}
