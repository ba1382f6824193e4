package redisstore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestManagedRedisSettings runs the Store as a managed Redis is used: TLS
// only (rediss://, a self-signed certificate made by the test), an ACL user
// with a password and access to the keys and channels of its prefix only
// (the default user off), and a client the application shares for its own
// keys. Cookie mode and store mode refresh across instances and sign out
// everywhere; the client stays usable by the application; a key outside
// the user's prefix is refused (the ACL applies).
func TestManagedRedisSettings(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	launchRedisTLS(t, addr, dataDir(t), "--port", "0", "--tls-port", port,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-auth-clients", "no",
		"--user", "default", "off",
		"--user", "auth", "on", ">s3cret", "~test:*", "&test:*", "+@all")

	opts, err := redis.ParseURL("rediss://auth:s3cret@" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	opts.TLSConfig.RootCAs = pool
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, time.Second, time.Second
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	for _, mode := range []sharing{cookieMode, sharedStore} {
		name := map[sharing]string{cookieMode: "cookie mode", sharedStore: "store mode"}[mode]
		t.Run(name, func(t *testing.T) {
			cl, _ := newCookieCluster(t, rdb, 2, mode, time.Hour)
			cookie := cl.signIn()
			tb, err := cl.get(1, "/tokens?force=1", cookie)
			if err != nil {
				t.Fatal(err)
			}
			if other, err := cl.get(0, "/tokens?force=1", cookie); err != nil || other.AccessToken != tb.AccessToken {
				t.Fatalf("the pre-refresh cookie at the other instance: %+v, %v; want the shared refresh", other, err)
			}
			cl.expectGrants("refresh over TLS", 1)
			cl.expectSignOut(0, tb.cookie)
			cl.expectEndedWithin(time.Now(), 0, tb.cookie, "sign-out over TLS", propagation)
		})
	}

	if err := rdb.Set(t.Context(), "test:app:own-key", "v", time.Minute).Err(); err != nil {
		t.Errorf("the application's own key on the shared client: %v", err)
	}
	if err := rdb.Set(t.Context(), "other:key", "v", time.Minute).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("a key outside the ACL user's prefix: %v; want NOPERM", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer plain.Close()
	if err := plain.Ping(t.Context()).Err(); err == nil {
		t.Error("a client without TLS was answered")
	}
}

// launchRedisTLS starts a redis-server for t on addr with its files in dir
// and args (its ports among them), killed at the end of t, and waits until
// it answers over TLS.
func launchRedisTLS(t *testing.T, addr, dir string, args ...string) {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command("redis-server", append([]string{"--bind", "127.0.0.1", "--save", "", "--dir", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	probe := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: &tls.Config{InsecureSkipVerify: true}, MaxRetries: -1})
	defer probe.Close()
	waitUntil(t, "redis-server to answer over TLS", 10*time.Second, func() bool {
		// The default user is off: an answer, even NOAUTH, means it is up.
		err := probe.Ping(t.Context()).Err()
		var rerr redis.Error
		return err == nil || errors.As(err, &rerr)
	})
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and its key
// to dir, and returns their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redisstore test"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
