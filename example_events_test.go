package monocloud_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	monocloud "github.com/monocloud/auth-go"
)

// Options.OnEvent receives every event as a typed value, for metrics; the
// Logger gets the same events as log records. At Info only the discovery
// of the provider is logged, once; a sign-in logs nothing: routine events
// are at Debug.
func ExampleOptions_onEvent() {
	op, stop := startExampleProvider()
	defer stop()

	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		AppURL:       appURL,
		CookieSecret: "an example secret; use 32 random bytes",
		Logger:       slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: dropTime})),
		OnEvent: func(ctx context.Context, e monocloud.Event) {
			// Must not block: count, or hand over to a channel.
			fmt.Printf("%s(%s)\n", e.Kind, e.Outcome)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	app.Config.Handler = client.AuthMiddleware(nil)(http.NotFoundHandler())
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	fetch(browser, appURL+"/api/auth/signin")
	fetch(browser, appURL+"/api/auth/callback?state=forged")

	// Output:
	// level=INFO msg="monocloud: provider discovered"
	// sign_in_started(ok)
	// sign_in_completed()
	// callback_failed()
	// level=WARN msg="monocloud: callback failed" event=callback_failed path=/api/auth/callback status=400 error="monocloud: Invalid state"
}

// dropTime removes the time, and the issuer with its random port, from
// log records, so the example's output is always the same.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if (a.Key == slog.TimeKey || a.Key == "issuer") && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}
