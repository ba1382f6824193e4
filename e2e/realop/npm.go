package realop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var npmMu sync.Mutex // serialises the check within one test binary

// ensureNodeModules runs `npm ci` in opDir unless node_modules already holds
// the oidc-provider version that package-lock.json pins. Across processes
// (parallel `go test` packages) it is serialised by a lock file in the temp dir.
func ensureNodeModules(t testing.TB, opDir string) {
	t.Helper()
	npmMu.Lock()
	defer npmMu.Unlock()
	if nodeModulesCurrent(opDir) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("realop: npm is not installed (not on PATH): it is needed once to install e2e/op's dependencies (npm ci)")
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "auth-go-realop-npm.lock"))
	if err != nil {
		t.Fatalf("realop: lock for npm ci: %v", err)
	}
	defer unlock()
	if nodeModulesCurrent(opDir) { // another process installed it meanwhile
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = opDir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("realop: npm ci in %s failed: %v\n%s", opDir, err, out.String())
	}
	if !nodeModulesCurrent(opDir) {
		t.Fatalf("realop: npm ci in %s did not install the locked oidc-provider\n%s", opDir, out.String())
	}
	t.Logf("realop: npm ci in %s took %v", opDir, time.Since(start).Round(time.Millisecond))
}

// nodeModulesCurrent reports whether node_modules/oidc-provider is the version
// package-lock.json pins.
func nodeModulesCurrent(opDir string) bool {
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(opDir, "package-lock.json"))
	if err != nil || json.Unmarshal(b, &lock) != nil {
		return false
	}
	want := lock.Packages["node_modules/oidc-provider"].Version
	var installed struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join(opDir, "node_modules", "oidc-provider", "package.json"))
	if err != nil || json.Unmarshal(b, &installed) != nil {
		return false
	}
	return want != "" && installed.Version == want
}
