package monocloudtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwks returns the key set served by op.
func jwks(t *testing.T, op *Provider) jose.JSONWebKeySet {
	t.Helper()
	resp := get(t, op, op.Issuer()+jwksPath, nil)
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID == "" || set.Keys[0].Algorithm != "RS256" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS %+v, want one public RS256 key with a kid", set)
	}
	return set
}

func TestSignIDToken(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)

	token := op.SignIDToken(t, map[string]any{
		"iss": op.Issuer(),
		"aud": testClientID,
		"sub": "hand-made",
		"iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Minute).Unix(),
	})

	if idToken := rp.verifyIDToken(t, token); idToken.Subject != "hand-made" {
		t.Errorf("sub = %q, want hand-made", idToken.Subject)
	}
	header := jwtHeader(t, token)
	if kid := jwks(t, op).Keys[0].KeyID; header.KeyID != kid || header.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Errorf("header kid %q typ %v, want kid %q and typ JWT", header.KeyID, header.ExtraHeaders[jose.HeaderType], kid)
	}
}

func TestRotateKey(t *testing.T) {
	op := NewProvider(t, Config{})
	rp := newRelyingParty(t, op)
	oldTok, _ := rp.signIn(t)
	oldKID := jwks(t, op).Keys[0].KeyID
	requests := op.JWKSRequests()

	op.RotateKey(t)

	if newKID := jwks(t, op).Keys[0].KeyID; newKID == oldKID {
		t.Errorf("kid after rotation = %q, want a new one", newKID)
	}
	newTok, _ := rp.signIn(t) // go-oidc fetches the new key
	if kid := jwtHeader(t, newTok.Extra("id_token").(string)).KeyID; kid == oldKID {
		t.Errorf("ID token kid after rotation = %q, want the new kid", kid)
	}
	fresh := newRelyingParty(t, op) // with no cached keys
	if _, err := fresh.verifier.Verify(fresh.ctx, oldTok.Extra("id_token").(string)); err == nil {
		t.Error("ID token signed with the retired key still verifies")
	}
	if got := op.JWKSRequests(); got <= requests+1 {
		t.Errorf("JWKSRequests() = %d, want more than %d", got, requests+1)
	}
}
