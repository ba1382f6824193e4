// Command monocloud-dev runs an OpenID provider on loopback for developing
// an application that uses github.com/monocloud/auth-go, with no MonoCloud
// account and no network:
//
//	go run github.com/monocloud/auth-go/cmd/monocloud-dev@latest
//
// It prints the MONOCLOUD_AUTH_* variables that configure the application
// for it, as export lines to paste into the shell that runs the
// application, and serves until interrupted (Ctrl-C). Signing in shows a
// page where you pick one of the users, or type any other name. It is the
// provider of package monocloudtest: it accepts any redirect URI and
// signs in whoever asks, so it listens on loopback only.
//
// Usage:
//
//	monocloud-dev [flags]
//
// The flags are:
//
//	-addr host:port
//		the provider's loopback address (default 127.0.0.1:9400)
//	-app-url URL
//		the application's base URL, MONOCLOUD_AUTH_APP_URL
//		(default http://127.0.0.1:8080: register the same spelling at
//		a real provider, as browsers send cookies per host name)
//	-user name[:group,group]
//		a user who can sign in, with the groups claim; repeat for more
//		users (default: alice, and admin in the group admin)
//	-users file.json
//		users from a JSON array of claim sets, each with a sub:
//		[{"sub": "alice", "name": "Alice", "groups": ["editors"]}]
//	-client-id id
//		the client ID (default monocloud-dev)
//	-client-secret secret
//		the client secret (default: a new random one every run)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/monocloud/auth-go/monocloudtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "monocloud-dev:", err)
		}
		os.Exit(2)
	}
}

// callbackPath is the application's default callback route
// (MONOCLOUD_AUTH_CALLBACK_URL).
const callbackPath = "/api/auth/callback"

// defaultAppURL is the application's base URL when -app-url is not given:
// an IP address, which needs no name lookup and cannot resolve to ::1 when
// the application listens on 127.0.0.1.
const defaultAppURL = "http://127.0.0.1:8080"

// run parses args, starts the provider, writes the variables to stdout and
// serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("monocloud-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9400", "the provider's loopback `host:port`")
	appURL := fs.String("app-url", defaultAppURL, "the application's base `URL` (MONOCLOUD_AUTH_APP_URL)")
	var userValues userFlags
	fs.Var(&userValues, "user", "a user who can sign in, as `name[:group,group]`; repeat for more")
	usersFile := fs.String("users", "", "a JSON `file` of users: an array of claim sets, each with a sub")
	clientID := fs.String("client-id", "monocloud-dev", "the client `ID`")
	clientSecret := fs.String("client-secret", "", "the client `secret` (default: a new random one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see -help", fs.Arg(0))
	}
	app, err := parseAppURL(*appURL)
	if err != nil {
		return err
	}
	list, err := users(userValues, *usersFile)
	if err != nil {
		return err
	}
	listener, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	if *clientSecret == "" {
		*clientSecret = rand.Text()
	}

	t := &providerT{}
	defer t.cleanup()
	defer func() {
		if f, ok := recover().(failure); ok {
			err = f.err
		}
	}()
	op := monocloudtest.NewProvider(t, monocloudtest.Config{
		ClientID:     *clientID,
		ClientSecret: *clientSecret,
		Users:        list,
		Listener:     listener,
	})

	fmt.Fprintf(stdout, "# An OpenID provider for %s is running at %s, until Ctrl-C.\n", app, op.Issuer())
	fmt.Fprintf(stdout, "# Users: %s. Paste into the shell that runs your app:\n", userNames(list))
	for _, v := range [][2]string{
		{"MONOCLOUD_AUTH_TENANT_DOMAIN", op.Issuer()},
		{"MONOCLOUD_AUTH_CLIENT_ID", *clientID},
		{"MONOCLOUD_AUTH_CLIENT_SECRET", *clientSecret},
		{"MONOCLOUD_AUTH_COOKIE_SECRET", newCookieSecret()},
		{"MONOCLOUD_AUTH_APP_URL", app.String()},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", v[0], shellQuote(v[1]))
	}
	fmt.Fprintf(stdout, "# Then sign in at %s%s (the callback is %s%s).\n", app, "/api/auth/signin", app, callbackPath)

	<-ctx.Done()
	fmt.Fprintln(stderr, "monocloud-dev: stopped")
	return nil
}

// parseAppURL returns the application's base URL, which must be an absolute
// http(s) URL.
func parseAppURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-app-url %q is not an absolute http(s) URL such as %s", raw, defaultAppURL)
	}
	return u, nil
}

// listenLoopback listens on addr, which must be on loopback: the provider
// signs in anyone who asks.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-addr %q is not a loopback address such as 127.0.0.1:9400: the provider signs in anyone who asks", addr)
	}
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is already in use (another monocloud-dev?): stop it or choose another address with -addr", addr)
	}
	return l, err
}

// newCookieSecret returns 32 random bytes in hex.
func newCookieSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// userNames lists the users' subjects, each with its groups.
func userNames(list []monocloudtest.User) string {
	names := make([]string, len(list))
	for i, u := range list {
		names[i] = u.Subject
		if groups, ok := u.Claims["groups"].([]any); ok && len(groups) > 0 {
			names[i] += fmt.Sprintf(" %v", groups)
		}
	}
	return strings.Join(names, ", ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters safe unquoted.
func shellQuote(s string) string {
	safe := func(r rune) bool {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_./:@%+=,", r)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !safe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
