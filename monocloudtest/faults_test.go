package monocloudtest

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestTokenFault(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	tok, _ := rp.signIn(t)

	t.Run("status", func(t *testing.T) {
		op.SetTokenFault(Fault{Status: http.StatusServiceUnavailable, Body: `{"error":"temporarily_unavailable"}`})
		defer op.SetTokenFault(Fault{})

		status, body := refresh(t, op, tok.RefreshToken, nil)

		wantError(t, status, body, http.StatusServiceUnavailable, "temporarily_unavailable")
	})
	t.Run("garbage body", func(t *testing.T) {
		op.SetTokenFault(Fault{Body: "<html>not json"})
		defer op.SetTokenFault(Fault{})

		if _, err := rp.oauth2.TokenSource(rp.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("refresh succeeded with a garbage response")
		}
	})
	t.Run("delay beyond the client timeout", func(t *testing.T) {
		op.SetTokenFault(Fault{Delay: time.Minute})
		defer op.SetTokenFault(Fault{})
		client := &http.Client{Transport: op.Client().Transport, Timeout: 100 * time.Millisecond}
		ctx := oidc.ClientContext(t.Context(), client)

		start := time.Now()
		_, err := rp.oauth2.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()

		if err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("refresh returned %v after %v, want a timeout", err, time.Since(start))
		}
	})
	t.Run("delay within the client timeout", func(t *testing.T) {
		const delay = 50 * time.Millisecond
		op.SetTokenFault(Fault{Delay: delay})
		defer op.SetTokenFault(Fault{})

		start := time.Now()
		status, body := refresh(t, op, tok.RefreshToken, nil)

		if status != http.StatusOK || time.Since(start) < delay {
			t.Errorf("got %d %v after %v, want success after %v", status, body, time.Since(start), delay)
		}
	})

	// The faulty requests reached the endpoint, and none consumed the token.
	if got := op.RefreshGrants(); got != 4 {
		t.Errorf("RefreshGrants() = %d, want 4", got)
	}
	if got := op.ReuseDetected(); got != 0 {
		t.Errorf("ReuseDetected() = %d, want 0", got)
	}
}

func TestFaultDelayEndsWithRequest(t *testing.T) {
	op := NewProvider(t, Config{})
	op.SetTokenFault(Fault{Delay: time.Hour, Status: http.StatusInternalServerError})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, _, err := doPostForm(ctx, op, tokenPath, url.Values{"grant_type": {"refresh_token"}}, basicAuth)
		done <- err
	}()
	for op.RefreshGrants() == 0 { // until the handler is waiting out the delay
		time.Sleep(time.Millisecond)
	}

	cancel()

	if err := <-done; err == nil {
		t.Error("canceled request succeeded")
	}
	// Closing the server waits for running handlers, and the test's end has
	// not cut the delay short yet.
	closed := make(chan struct{})
	go func() {
		op.srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the token handler still waits after its request was canceled")
	}
}
