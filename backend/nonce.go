package backend

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"
)

// NonceSource issues and checks DPoP nonces (RFC 9449 section 9). With
// one, every DPoP proof must carry a nonce it issued; a proof without one,
// or with one no longer valid, is answered 401 use_dpop_nonce with a fresh
// nonce in DPoP-Nonce.
//
// A client uses the nonce it was given until the server gives it a new one
// (RFC 9449 section 8.2), which the server may do on a successful answer,
// saving the round trip of a 401. Protect does so: when the nonce of an
// accepted proof is not the one Nonce returns now, the answer carries the
// new one. A client that always uses the latest nonce it received thus
// gets use_dpop_nonce only for its first proof, as long as it calls the
// API at least once a nonce lifetime; answers to proofs with the current
// nonce carry no header. Browser clients read the header only if CORS exposes it
// (Access-Control-Expose-Headers: DPoP-Nonce).
type NonceSource interface {
	// Nonce returns the nonce to send in DPoP-Nonce; Protect calls it once
	// per DPoP request it answers.
	Nonce() string
	// Valid reports whether a proof's nonce is still accepted.
	Valid(nonce string) bool
}

// hmacNonces is a stateless NonceSource: a nonce is a time window and its
// HMAC, valid in its window and the next.
type hmacNonces struct {
	key    []byte
	window time.Duration
	now    func() time.Time
}

// NewNonceSource returns a stateless NonceSource whose nonces change every
// lifetime and are valid for lifetime to twice lifetime after they are
// first issued: a client told the new nonce on its first request after the
// change has at least lifetime to use it. Instances that share secret (at
// least 32 bytes) accept each other's nonces.
func NewNonceSource(secret []byte, lifetime time.Duration) (NonceSource, error) {
	if len(secret) < 32 {
		return nil, errors.New("backend: the DPoP nonce secret must be at least 32 bytes")
	}
	if lifetime < time.Second {
		return nil, errors.New("backend: the DPoP nonce lifetime must be at least 1s")
	}
	return &hmacNonces{key: append([]byte(nil), secret...), window: lifetime, now: time.Now}, nil
}

func (n *hmacNonces) Nonce() string {
	return n.nonceOf(uint64(n.now().UnixNano() / int64(n.window)))
}

func (n *hmacNonces) nonceOf(window uint64) string {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 24), window)
	m := hmac.New(sha256.New, n.key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b)[:24])
}

func (n *hmacNonces) Valid(nonce string) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 24 {
		return false
	}
	w, current := binary.BigEndian.Uint64(b), uint64(n.now().UnixNano()/int64(n.window))
	if w != current && w+1 != current {
		return false
	}
	return hmac.Equal([]byte(n.nonceOf(w)), []byte(nonce))
}

// renewNonce sets DPoP-Nonce on the answer to an accepted DPoP request
// whose proof carried a nonce other than the current one (RFC 9449
// sections 8.2 and 9): the client then moves to the new nonce before the
// old one expires.
func (c *Client) renewNonce(h http.Header, proof *dpopProof) {
	if c.cfg.nonces == nil || proof == nil {
		return
	}
	if nonce := c.cfg.nonces.Nonce(); nonce != proof.nonce {
		h.Set("DPoP-Nonce", nonce)
	}
}
