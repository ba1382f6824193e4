package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/e2e/realop"
)

// The browser test drives a real Chromium (Debian's, never a downloaded
// one) with the npm package playwright-core, pinned in
// e2e/browser/package-lock.json.

const (
	// browserDefaultChromium is Debian's chromium (apt-get install -y
	// chromium). $CHROMIUM overrides it.
	browserDefaultChromium = "/usr/bin/chromium"
	// browserScriptTimeout bounds the whole node script.
	browserScriptTimeout = 3 * time.Minute
)

// browserChromium returns the Chromium binary to drive. A missing browser
// fails the test: it is a prerequisite of the suite, not an optional extra.
func browserChromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = browserDefaultChromium
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("browser test: Chromium not found at %s: install it with `apt-get install -y chromium` "+
			"(the test script does) or point $CHROMIUM at a Chromium binary", path)
	}
	return path
}

// browserDir is e2e/browser, where signin.mjs and its package.json live.
// Tests run in their package directory (e2e).
func browserDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserEnsureNodeModules runs `npm ci --ignore-scripts` in dir unless
// node_modules already holds the playwright-core version package-lock.json
// pins. --ignore-scripts: playwright-core has no install script, and no
// browser may be downloaded anyway.
func browserEnsureNodeModules(t *testing.T, dir string) {
	t.Helper()
	if browserNodeModulesCurrent(dir) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("browser test: npm is not installed (not on PATH): it is needed once to install e2e/browser's dependencies (npm ci)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser test: npm ci in %s failed: %v\n%s", dir, err, out.String())
	}
	if !browserNodeModulesCurrent(dir) {
		t.Fatalf("browser test: npm ci in %s did not install the locked playwright-core\n%s", dir, out.String())
	}
	t.Logf("browser test: npm ci in %s took %v", dir, time.Since(start).Round(time.Millisecond))
}

func browserNodeModulesCurrent(dir string) bool {
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(b, &lock) != nil {
		return false
	}
	want := lock.Packages["node_modules/playwright-core"].Version
	var installed struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil || json.Unmarshal(b, &installed) != nil {
		return false
	}
	return want != "" && installed.Version == want
}

// browserRunScript runs `node <script>` in dir with env added to the
// environment, logs each line it prints, and fails the test if it exits
// non-zero or runs longer than browserScriptTimeout.
func browserRunScript(t *testing.T, dir, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), browserScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// On timeout, SIGINT lets playwright close the browser it started; the
	// process is killed if it has not exited 10s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // one stream, in order
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("browser test: start node %s: %v", script, err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("browser test: node %s did not finish within %v", script, browserScriptTimeout)
	}
	if err != nil {
		t.Fatalf("browser test: node %s failed after %v: %v", script, time.Since(start).Round(time.Millisecond), err)
	}
}

// browserServer is an httptest server whose URL is known before its
// handler: the provider needs the app's redirect URIs, and the app's client
// needs the provider.
type browserServer struct {
	*httptest.Server
	handler http.Handler
}

func browserNewServer(t *testing.T) *browserServer {
	s := &browserServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// url is the server's URL, known before it starts.
func (s *browserServer) url() string { return "http://" + s.Listener.Addr().String() }

// serve sets the handler and starts the server.
func (s *browserServer) serve(h http.Handler) {
	s.handler = h
	s.Start()
}

func browserRandom(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// browserResourcesEnv formats resources as EXAMPLE_RESOURCES does.
func browserResourcesEnv(resources []realop.Resource) string {
	entries := make([]string, len(resources))
	for i, r := range resources {
		entries[i] = r.URL + "=" + r.Scope
	}
	return strings.Join(entries, ",")
}
