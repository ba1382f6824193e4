package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAddr is the address of the redis-server that TestMain runs for the
// tests.
var redisAddr string

// TestMain runs the tests against a real, throw-away redis-server: no mock,
// and no skipping when Redis is missing.
func TestMain(m *testing.M) {
	os.Exit(runWithRedis(m))
}

func runWithRedis(m *testing.M) int {
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: redisstore tests need a real redis-server (6.2 or later) on PATH: "+
			"apt-get install -y redis-server")
		return 1
	}
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: finding a free port:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	redisAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd, err := launchRedis(redisAddr, dir, "--appendonly", "no")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	return m.Run()
}

// launchRedis starts a redis-server listening on addr (127.0.0.1:port) with
// its files in dir and the extra arguments args, and waits until it
// answers PING. RDB snapshots are off.
func launchRedis(addr, dir string, args ...string) (*exec.Cmd, error) {
	_, port, _ := net.SplitHostPort(addr)
	var out bytes.Buffer
	cmd := exec.Command("redis-server", append([]string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--dir", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	if err := waitForPing(addr, 10*time.Second); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("redis-server on %s did not answer PING: %w\n%s", addr, err, out.String())
	}
	return cmd, nil
}

// freePort returns a TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitForPing(addr string, within time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newClient returns a client of the test Redis, closed at the end of t: the
// redis-server of TestMain, or the Sentinel or Cluster that TestTopologies
// runs the tests on (see topology_test.go).
func newClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	name, addrs := currentTopology()
	if name == "single" {
		addrs = []string{redisAddr}
	}
	return topologyClient(t, name, addrs, &redis.UniversalOptions{})
}

// testPrefix returns a key prefix of its own for t, so tests never see each
// other's keys.
func testPrefix(t *testing.T) string {
	prefixes.Add(1)
	return fmt.Sprintf("test:%d:%s:", prefixes.Load(), strings.ReplaceAll(t.Name(), "/", ":"))
}

// prefixes numbers the test prefixes, so repeated runs (-count) of a test
// against the same server never see each other's keys.
var prefixes atomic.Int64

// redisServer is a redis-server of its own for one test, which the test can
// pause, kill and restart. It appends every write to its AOF and fsyncs it
// before answering, so its data survives a kill.
type redisServer struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server for t, stopped at the end of t.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dataDir(t)}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			s.kill()
		}
	})
	return s
}

// dataDir returns a directory for a server's files, removed at the end of
// t. It is on a memory file system when there is one: an fsync to disk on
// every write can take longer than the tests' short command timeouts, and
// the files still outlive the server's process.
func dataDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "redisstore-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// start runs the server on s.addr with the data of s.dir.
func (s *redisServer) start() {
	s.t.Helper()
	cmd, err := launchRedis(s.addr, s.dir, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
}

// pause stops the server's process (SIGSTOP): connections are accepted by
// the kernel, but no command is answered until resume.
func (s *redisServer) pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatal(err)
	}
}

// resume continues a paused server (SIGCONT).
func (s *redisServer) resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatal(err)
	}
}

// kill ends the server at once (SIGKILL), paused or not: connections are
// refused until start.
func (s *redisServer) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
	_ = s.cmd.Wait() // "signal: killed"
	s.cmd = nil
}

// client returns a client of s, closed at the end of the test, whose
// commands fail after timeout when the server does not answer, and at once
// when it refuses connections: no retries. Applications should bound their
// Redis commands the same way (DialTimeout, ReadTimeout, WriteTimeout): a
// request then answers 503 in about that time when Redis hangs.
func (s *redisServer) client(timeout time.Duration) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:          s.addr,
		DialTimeout:   timeout,
		ReadTimeout:   timeout,
		WriteTimeout:  timeout,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
	s.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
