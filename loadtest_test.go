package monocloud

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestLoadServer is the server of scripts/loadtest.sh, which sets
// MONOCLOUD_LOADTEST_DIR; otherwise it is skipped. It serves a hello-world
// handler, bare at /bare and behind AuthMiddleware at /protected, writes
// the Cookie headers of rotatingCookies sessions minted without a sign-in
// to cookies (one a line) in that directory, then its address to addr, and
// serves until the process is stopped.
func TestLoadServer(t *testing.T) {
	dir := os.Getenv("MONOCLOUD_LOADTEST_DIR")
	if dir == "" {
		t.Skip("MONOCLOUD_LOADTEST_DIR is not set: run scripts/loadtest.sh")
	}
	app := newTestApp(t, appConfig{opcfg: monocloudtest.Config{Claims: benchClaims}})
	app.signIn("")
	var lines strings.Builder
	for _, r := range benchRotatingRequests(t, app.client, app.request(http.MethodGet, "/"), rotatingCookies) {
		lines.WriteString(r.Header.Get("Cookie") + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "cookies"), []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux := http.NewServeMux()
	mux.Handle("/bare", hello)
	mux.Handle("/protected", app.client.AuthMiddleware(nil)(hello))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "addr"), []byte(ln.Addr().String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Fatal(http.Serve(ln, mux))
}
