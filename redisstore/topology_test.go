package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

// The Redis topologies the tests run on, all from Debian's redis-server and
// redis-sentinel on loopback, started and stopped by PID:
//
//   - single: the redis-server of TestMain;
//   - sentinel: one master, two replicas and three sentinels monitoring
//     them as sentinelMaster, which fail over a second after the master
//     stops answering;
//   - cluster: a Redis Cluster of three masters with one replica each,
//     whose replicas take over a second after their master stops
//     answering.
//
// TestTopologies runs the test binary again on a Sentinel and on a Cluster
// (topologyEnv names the topology, addrsEnv its addresses): newClient then
// returns a client of that topology, so every test that uses newClient runs
// on all three.

const (
	// topologyEnv selects the topology newClient connects to: "single"
	// (or unset), "sentinel" or "cluster".
	topologyEnv = "MONOCLOUD_REDIS_TOPOLOGY"
	// addrsEnv holds the comma-separated addresses of the topology: the
	// sentinels, or the cluster's nodes.
	addrsEnv = "MONOCLOUD_REDIS_ADDRS"
	// sentinelMaster is the name under which the sentinels monitor the
	// master.
	sentinelMaster = "mymaster"
	// failoverAfter is how long a master is unanswered before Sentinel or
	// the Cluster promotes one of its replicas (down-after-milliseconds,
	// cluster-node-timeout). Sentinel pings once a second: with 1 s, one
	// late answer on a loaded machine marked a just-promoted master down
	// and promoted the other replica too, losing the writes made on the
	// first (seen in the sentinels' logs). 3 s takes three missed pings.
	failoverAfter = 3 * time.Second
)

// ownServerTests matches the tests that start and fault their own servers
// (startRedis, a TLS server, a Sentinel or Cluster to fail over, a proxy to
// the single node):
// TestTopologies does not run them again on the other topologies.
const ownServerTests = `^(TestTopologies|TestCluster.*|TestManaged.*|Test.*Failover.*|Test.*Outage.*|Test.*Hang.*|Test.*ConnectionsDied)$`

// currentTopology is the topology newClient connects to, from topologyEnv.
func currentTopology() (name string, addrs []string) {
	name = os.Getenv(topologyEnv)
	if name == "" {
		name = "single"
	}
	if v := os.Getenv(addrsEnv); v != "" {
		addrs = strings.Split(v, ",")
	}
	return name, addrs
}

// topologyClient returns a client of the named topology at addrs (the
// single node, the sentinels or the cluster's nodes) with opts's timeouts,
// closed at the end of t.
func topologyClient(t *testing.T, name string, addrs []string, opts *redis.UniversalOptions) redis.UniversalClient {
	t.Helper()
	o := *opts
	o.Addrs = addrs
	var rdb redis.UniversalClient
	switch name {
	case "single":
		rdb = redis.NewClient(o.Simple())
	case "sentinel":
		o.MasterName = sentinelMaster
		rdb = redis.NewFailoverClient(o.Failover())
	case "cluster":
		rdb = redis.NewClusterClient(o.Cluster())
	default:
		t.Fatalf("%s=%q: want single, sentinel or cluster", topologyEnv, name)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestTopologies runs every test that uses newClient (all but
// ownServerTests) again on a Sentinel and on a Cluster, each started for
// the run, by running the test binary with topologyEnv set. It checks that
// the run passed and ran the tests.
func TestTopologies(t *testing.T) {
	if name, _ := currentTopology(); name != "single" {
		t.Fatalf("TestTopologies runs on the single node only, not on %s", name)
	}
	for _, name := range []string{"sentinel", "cluster"} {
		t.Run(name, func(t *testing.T) {
			_, _, addrs := startTopology(t, name)
			args := []string{"-test.v", "-test.count=1", "-test.skip", ownServerTests}
			if testing.Short() {
				args = append(args, "-test.short")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), topologyEnv+"="+name, addrsEnv+"="+strings.Join(addrs, ","))
			out, err := cmd.CombinedOutput()
			passed := bytes.Count(out, []byte("\n--- PASS: Test"))
			t.Logf("%d tests passed on %s", passed, name)
			if err != nil || passed < 20 {
				t.Fatalf("the tests on %s: %v, %d passed; want at least 20\n%s", name, err, passed, out)
			}
		})
	}
}

// startTopology starts the named topology ("sentinel" or "cluster") for t
// and returns it (st or ct is set), with the addresses a client connects
// to: the sentinels, or the cluster's nodes.
func startTopology(t *testing.T, name string) (st *sentinelTopology, ct *clusterTopology, addrs []string) {
	t.Helper()
	if name == "sentinel" {
		st = startSentinel(t)
		return st, nil, st.sentinels
	}
	ct = startRedisCluster(t)
	return nil, ct, ct.addrs()
}

// node is one redis-server or redis-sentinel process of a topology.
type node struct {
	addr string
	cmd  *exec.Cmd
}

// kill ends the node at once (SIGKILL).
func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	n.cmd = nil
}

// startNode starts a redis-server on a free loopback port with its files in
// a directory of its own, killed at the end of t.
func startNode(t *testing.T, args ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	// A replica syncs at once, not after the default diskless sync delay
	// of 5 s.
	cmd, err := launchRedis(addr, dataDir(t), append([]string{"--appendonly", "no", "--repl-diskless-sync-delay", "0"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: addr, cmd: cmd}
	t.Cleanup(n.kill)
	return n
}

// sentinelTopology is a master with two replicas, monitored by three
// sentinels.
type sentinelTopology struct {
	servers   []*node // the master first
	sentinels []string
}

// startSentinel starts a sentinel topology for t and waits until every
// sentinel knows both replicas and the other sentinels (so that a failover
// can be agreed on).
func startSentinel(t *testing.T) *sentinelTopology {
	t.Helper()
	if _, err := exec.LookPath("redis-sentinel"); err != nil {
		t.Fatal("the Sentinel tests need Debian's redis-sentinel: apt-get install -y redis-sentinel")
	}
	master := startNode(t)
	host, port, _ := net.SplitHostPort(master.addr)
	st := &sentinelTopology{servers: []*node{master}}
	// Distinct priorities make every sentinel choose the same replica to
	// promote: with equal ones, two elections in a row (each sentinel may
	// lead one) can promote one replica and then the other, and the writes
	// made on the first are lost when it becomes a replica again.
	for i := range 2 {
		st.servers = append(st.servers, startNode(t, "--replicaof", host, port, "--replica-priority", strconv.Itoa(10*(i+1))))
	}
	waitForReplicas(t, st.servers)
	for range 3 {
		addr := freeAddr(t)
		_, sport, _ := net.SplitHostPort(addr)
		dir := dataDir(t)
		conf := filepath.Join(dir, "sentinel.conf")
		cfg := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\n", sport, dir) +
			fmt.Sprintf("sentinel monitor %s %s %s 2\n", sentinelMaster, host, port) +
			fmt.Sprintf("sentinel down-after-milliseconds %s %d\n", sentinelMaster, failoverAfter.Milliseconds()) +
			fmt.Sprintf("sentinel failover-timeout %s 10000\n", sentinelMaster) +
			fmt.Sprintf("sentinel parallel-syncs %s 2\n", sentinelMaster)
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		cmd := exec.Command("redis-sentinel", conf)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &node{addr: addr, cmd: cmd}
		t.Cleanup(func() {
			n.kill()
			if t.Failed() {
				t.Logf("redis-sentinel on %s:\n%s", addr, out.String())
			}
		})
		if err := waitForPing(addr, 10*time.Second); err != nil {
			t.Fatalf("redis-sentinel on %s: %v\n%s", addr, err, out.String())
		}
		st.sentinels = append(st.sentinels, addr)
	}
	for _, addr := range st.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		waitUntil(t, "sentinel "+addr+" to discover the replicas and sentinels", 30*time.Second, func() bool {
			m, err := sc.Master(t.Context(), sentinelMaster).Result()
			return err == nil && m["num-slaves"] == "2" && m["num-other-sentinels"] == "2"
		})
		_ = sc.Close()
	}
	return st
}

// clusterTopology is a Redis Cluster of three masters with one replica
// each.
type clusterTopology struct {
	nodes []*node
}

// startRedisCluster starts a cluster topology for t with redis-cli
// --cluster create and waits until every node reports the cluster ok.
func startRedisCluster(t *testing.T) *clusterTopology {
	t.Helper()
	ct := &clusterTopology{}
	for range 6 {
		// The cluster bus port defaults to port+10000: choose one free.
		_, busPort, _ := net.SplitHostPort(freeAddr(t))
		ct.nodes = append(ct.nodes, startNode(t, "--cluster-enabled", "yes", "--cluster-port", busPort,
			"--cluster-node-timeout", strconv.FormatInt(failoverAfter.Milliseconds(), 10)))
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, ct.addrs()...),
		"--cluster-replicas", "1", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range ct.nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.addr})
		waitUntil(t, "node "+n.addr+" to report the cluster ok", 30*time.Second, func() bool {
			info, err := rdb.ClusterInfo(t.Context()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:6")
		})
		_ = rdb.Close()
	}
	waitForReplicas(t, ct.nodes)
	return ct
}

// addrs returns the addresses of the cluster's nodes.
func (ct *clusterTopology) addrs() []string {
	var addrs []string
	for _, n := range ct.nodes {
		addrs = append(addrs, n.addr)
	}
	return addrs
}

// waitForReplicas waits until every replica among nodes has synced with
// its master: a replica that never synced is not promoted.
func waitForReplicas(t *testing.T, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.addr})
		waitUntil(t, "node "+n.addr+" to sync with its master", 30*time.Second, func() bool {
			info, err := rdb.Info(t.Context(), "replication").Result()
			return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
		})
		_ = rdb.Close()
	}
}

// waitUntil polls ok every 50 ms until it holds, failing t after within.
func waitUntil(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// keysUnder returns the keys under prefix: on a Cluster, of every master
// (KEYS answers only for the node it is sent to).
func keysUnder(t *testing.T, rdb redis.UniversalClient, prefix string) []string {
	t.Helper()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := rdb.Keys(t.Context(), prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(t.Context(), func(ctx context.Context, master *redis.Client) error {
		ks, err := master.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// storeOptions returns the Store options of the tests' clusters: prefix,
// and Replicas 1 when rdb's master has a replica (Sentinel). On a Cluster
// Replicas stays 0: its WAIT goes through a node's client, which the
// cluster client's hooks (TestRedisRoundTrips) do not see; the failover
// harness runs Cluster with Replicas 1.
func storeOptions(t *testing.T, rdb redis.UniversalClient, prefix string) *redisstore.Options {
	t.Helper()
	opts := &redisstore.Options{Prefix: prefix}
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return opts
	}
	info, err := rdb.Info(t.Context(), "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "connected_slaves:0") {
		opts.Replicas = 1
	}
	return opts
}
