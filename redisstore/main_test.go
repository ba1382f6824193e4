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
	bin, err := exec.LookPath("redis-server")
	if err != nil {
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
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting redis-server:", err)
		return 1
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	redisAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitForPing(redisAddr, 10*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: redis-server on %s did not answer PING: %v\n%s", redisAddr, err, out.String())
		return 1
	}
	return m.Run()
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

// newClient returns a client of the test Redis, closed at the end of t.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
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
