package monocloud

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// selfSignedCertificate returns a new self-signed client certificate.
func selfSignedCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test-client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// mtlsTokenEndpoint starts a TLS token endpoint that requires cert as the
// client certificate, as a provider's mTLS alias does, and passes the
// requests on to the token endpoint of *op (set before the first
// request), authenticated as the client registered there. It returns its
// URL, the client that trusts it, and the count of requests passed on.
func mtlsTokenEndpoint(t *testing.T, op **monocloudtest.Provider, cert tls.Certificate) (string, *http.Client, *atomic.Int32) {
	t.Helper()
	var passed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) != 1 || !r.TLS.PeerCertificates[0].Equal(mustParse(t, cert.Certificate[0])) {
			http.Error(w, "wrong client certificate", http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != "test-client" || r.PostForm.Has("client_secret") || r.Header.Get("Authorization") != "" {
			http.Error(w, "want client_id and no other credentials", http.StatusBadRequest)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, (*op).Issuer()+"/token", strings.NewReader(r.PostForm.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("test-client", "test-secret")
		resp, err := (*op).Client().Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		passed.Add(1)
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/token", srv.Client(), &passed
}

// mustParse parses a DER certificate.
func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMutualTLSClientAuth: with self_signed_tls_client_auth and
// ClientCertificate, the code exchange and refreshes go to the provider's
// mtls_endpoint_aliases (or a trust store's), with the certificate and
// client_id only; without the alias New fails, rather than falling back to
// the regular endpoint.
func TestMutualTLSClientAuth(t *testing.T) {
	cert := selfSignedCertificate(t)
	for _, trustStore := range []string{"", "store-1"} {
		t.Run(map[string]string{"": "mtls_endpoint_aliases", "store-1": "mtls_additional_endpoint_aliases"}[trustStore], func(t *testing.T) {
			var op *monocloudtest.Provider
			tokenURL, tlsClient, passed := mtlsTokenEndpoint(t, &op, cert)
			aliases := map[string]string{"token_endpoint": tokenURL}
			opcfg := monocloudtest.Config{MTLSEndpointAliases: map[string]string{"token_endpoint": "https://elsewhere.invalid/token"}}
			if trustStore == "" {
				opcfg.MTLSEndpointAliases = aliases
			} else {
				opcfg.MTLSAdditionalEndpointAliases = map[string]map[string]string{trustStore: aliases}
			}
			op = monocloudtest.NewProvider(t, opcfg)
			app := newTestApp(t, appConfig{op: op, opcfg: opcfg, opts: Options{
				ClientAuthMethod:  "self_signed_tls_client_auth",
				ClientCertificate: &cert,
				TrustStoreID:      trustStore,
				HTTPClient:        &http.Client{Transport: tlsClient.Transport.(*http.Transport).Clone()},
			}})
			app.signIn("")
			if passed.Load() != 1 || app.session() == nil {
				t.Fatalf("%d code exchanges through the mTLS alias, session %v", passed.Load(), app.session())
			}
			if _, err := app.client.GetTokensWithResponse(httptest.NewRecorder(), app.request(http.MethodGet, "/"), &GetTokensOptions{ForceRefresh: true}); err != nil || passed.Load() != 2 {
				t.Errorf("refresh: %v, %d requests through the mTLS alias, want 2", err, passed.Load())
			}
			if got := app.client.Options().ClientAuthMethod; got != "self_signed_tls_client_auth" {
				t.Errorf("Options().ClientAuthMethod = %q", got)
			}
		})
	}
	t.Run("no alias", func(t *testing.T) {
		op := monocloudtest.NewProvider(t, monocloudtest.Config{})
		_, err := New(Options{
			TenantDomain: op.Issuer(), ClientID: "test-client", AppURL: "http://127.0.0.1:1",
			CookieSecret: testSecret, ClientAuthMethod: "tls_client_auth", ClientCertificate: &cert,
		})
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Message, "mtls_endpoint_aliases lacks the token_endpoint") {
			t.Errorf("New: %v, want a *ValidationError about the missing alias", err)
		}
	})
	t.Run("certificate without an mTLS method", func(t *testing.T) {
		o := cfgValid()
		o.ClientCertificate = &cert
		clearEnv(t)
		if errs := validationErrors(func() error { _, err := resolve(o); return err }()); len(errs) != 1 || errs[0].Field != "ClientCertificate" {
			t.Errorf("errors %v, want one for ClientCertificate", errs)
		}
	})
}
