package provider

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
)

// roundTripperFunc is an http.RoundTripper that is not an *http.Transport.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestWithClientCertificate(t *testing.T) {
	cert := &tls.Certificate{Certificate: [][]byte{[]byte("der")}}
	custom := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "op.example.com"}}
	for _, tc := range []struct {
		name    string
		client  *http.Client
		wantErr string
	}{
		{"nil: the default transport", nil, ""},
		{"a client without a transport", &http.Client{}, ""},
		{"a client with its own transport", &http.Client{Transport: custom}, ""},
		{"a transport that is not an *http.Transport", &http.Client{Transport: roundTripperFunc(nil)}, "must be an *http.Transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := WithClientCertificate(tc.client, cert)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != tc.client {
					t.Errorf("client %p, error %v; want the client itself and an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := got.Transport.(*http.Transport)
			if !ok || tr == http.DefaultTransport || tr == custom || got == tc.client {
				t.Fatalf("transport %T: want a clone in a new client", got.Transport)
			}
			if c := tr.TLSClientConfig.Certificates; len(c) != 1 || string(c[0].Certificate[0]) != "der" {
				t.Errorf("certificates %v, want the client certificate", c)
			}
			if tc.client != nil && tc.client.Transport == custom && tr.TLSClientConfig.ServerName != "op.example.com" {
				t.Error("the transport's TLS settings were lost")
			}
			if certificates(custom) != 0 || certificates(http.DefaultTransport.(*http.Transport)) != 0 {
				t.Error("the original transport was modified")
			}
		})
	}
}

// certificates returns how many client certificates t presents.
func certificates(t *http.Transport) int {
	if t.TLSClientConfig == nil {
		return 0
	}
	return len(t.TLSClientConfig.Certificates)
}
