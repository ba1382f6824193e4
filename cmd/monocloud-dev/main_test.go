package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
)

// buildCommand builds the command and returns the path of its binary.
func buildCommand(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "monocloud-dev")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startCommand runs the binary with args and returns the running command
// and the variables of the export lines it printed.
func startCommand(t *testing.T, bin string, args ...string) (*exec.Cmd, map[string]string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	vars := make(chan map[string]string, 1)
	go func() {
		found := make(map[string]string)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if name, value, ok := strings.Cut(strings.TrimPrefix(lines.Text(), "export "), "="); ok {
				found[name] = value
			}
			if strings.HasPrefix(lines.Text(), "# Then sign in") {
				break
			}
		}
		vars <- found
		io.Copy(io.Discard, stdout)
	}()
	select {
	case found := <-vars:
		return cmd, found, &stderr
	case <-time.After(30 * time.Second):
		t.Fatalf("no variables printed; stderr: %s", stderr.String())
		return nil, nil, nil
	}
}

// TestCommandSignsInAnApp builds the command, runs it for an app, configures
// the app with the printed variables only, and signs a user in through the
// provider's sign-in page with a browser-like client.
func TestCommandSignsInAnApp(t *testing.T) {
	bin := buildCommand(t)
	appSrv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + appSrv.Listener.Addr().String()
	cmd, vars, stderr := startCommand(t, bin, "-addr", "127.0.0.1:0", "-app-url", appURL, "-user", "alice", "-user", "admin:admin,editors")

	for _, name := range []string{"TENANT_DOMAIN", "CLIENT_ID", "CLIENT_SECRET", "COOKIE_SECRET", "APP_URL"} {
		if vars["MONOCLOUD_AUTH_"+name] == "" {
			t.Fatalf("MONOCLOUD_AUTH_%s not printed: %v", name, vars)
		}
		t.Setenv("MONOCLOUD_AUTH_"+name, vars["MONOCLOUD_AUTH_"+name])
	}
	client, err := monocloud.New(monocloud.Options{})
	if err != nil {
		t.Fatalf("New from the printed variables: %v", err)
	}
	appSrv.Config.Handler = client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := client.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %v", s.User["sub"], s.User["groups"])
	}))
	appSrv.Start()
	defer appSrv.Close()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page, body := fetch(t, func() (*http.Response, error) { return browser.Get(appURL + "/") })
	if !strings.HasPrefix(page.Request.URL.String(), vars["MONOCLOUD_AUTH_TENANT_DOMAIN"]) || !strings.Contains(body, "admin") {
		t.Fatalf("a protected page led to %s: %s, want the provider's sign-in page listing the users", page.Request.URL, body)
	}
	action, form := signInForm(t, body)
	form.Set("user", "admin") // the person clicks "admin"
	signedIn, body := fetch(t, func() (*http.Response, error) { return browser.PostForm(action, form) })
	if signedIn.StatusCode != http.StatusOK || body != "admin [admin editors]" {
		t.Errorf("after choosing admin: %s %q at %s, want the app's page for admin with the groups", signedIn.Status, body, signedIn.Request.URL)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after Ctrl-C the command exited with %v, want success; stderr: %s", err, stderr)
	}
}

// TestCommandBusyPort: a busy address is reported in one line, with the
// flag that changes it.
func TestCommandBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"-addr", busy.Addr().String()}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "-addr") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("run on a busy address: %v, want one line naming the busy address and -addr", err)
	}
	if stdout.Len() > 0 {
		t.Errorf("run on a busy address printed %q, want nothing to export", stdout.String())
	}
}

// TestCommandDefaultAppURL: without -app-url the variables name
// http://127.0.0.1:8080, the one host spelling the README and the
// examples use, so that the callback URL matches what is registered.
func TestCommandDefaultAppURL(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // print the variables, then return at once
	var stdout bytes.Buffer
	if err := run(ctx, []string{"-addr", "127.0.0.1:0"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export MONOCLOUD_AUTH_APP_URL=http://127.0.0.1:8080\n",
		"(the callback is http://127.0.0.1:8080/api/auth/callback)",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("run without -app-url printed:\n%s\nwant a line with %q", stdout.String(), want)
		}
	}
}

// TestCommandRefusesNonLoopback: the provider signs in anyone, so it does
// not listen beyond loopback.
func TestCommandRefusesNonLoopback(t *testing.T) {
	err := run(t.Context(), []string{"-addr", "0.0.0.0:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run -addr 0.0.0.0:0: %v, want it refused as not loopback", err)
	}
}

// fetch makes a request with do and returns the final response and its body.
func fetch(t *testing.T, do func() (*http.Response, error)) (*http.Response, string) {
	t.Helper()
	resp, err := do()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// Patterns of the sign-in page's form.
var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formField  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// signInForm returns the action and hidden fields of the sign-in page.
func signInForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in the sign-in page:\n%s", page)
	}
	form := make(url.Values)
	for _, f := range formField.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), form
}
