package otelmonocloud_test

import (
	"log"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/otelmonocloud"
)

// Metrics from the Client's events, with the global meter provider, and a
// span for each call to the provider, with otelhttp. The other options come
// from the MONOCLOUD_AUTH_* environment.
func Example() {
	onEvent, err := otelmonocloud.OnEvent(nil)
	if err != nil {
		log.Fatal(err)
	}
	client, err := monocloud.New(monocloud.Options{
		OnEvent:    onEvent,
		HTTPClient: &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)},
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/", client.AuthMiddleware(nil)(http.NotFoundHandler()))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
