package cookie

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

// maxSizeRatio bounds the length of an encoded session over the length of
// its JSON encoding.
const maxSizeRatio = 1.0

const (
	testSecret  = "correct horse battery staple, but longer and random"
	testBinding = "https://acme-corp.us.monocloud.com\x000e6f3c1a-5b7d-4c2e-9f8a-1d2b3c4d5e6f"
)

// newTestCodec returns a Codec for secrets bound to testBinding.
func newTestCodec(tb testing.TB, maxAge time.Duration, secrets ...string) *Codec {
	tb.Helper()
	return newBoundCodec(tb, maxAge, testBinding, secrets...)
}

func newBoundCodec(tb testing.TB, maxAge time.Duration, binding string, secrets ...string) *Codec {
	tb.Helper()
	c, err := NewCodec(secrets, binding, maxAge)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestNewCodecErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		maxAge  time.Duration
	}{
		{"nil secrets", nil, 0},
		{"no secret", []string{}, 0},
		{"empty secret", []string{""}, 0},
		{"empty old secret", []string{"new", ""}, 0},
		{"negative max age", []string{"s"}, -time.Second},
		{"sub-second max age", []string{"s"}, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := NewCodec(tc.secrets, testBinding, tc.maxAge); err == nil {
				t.Errorf("NewCodec(%q, %v) = %v, want error", tc.secrets, tc.maxAge, c)
			}
		})
	}
}

func TestDeriveKeys(t *testing.T) {
	h1, b1, err := deriveKeys("one", testBinding)
	if err != nil {
		t.Fatal(err)
	}
	h1again, b1again, err := deriveKeys("one", testBinding)
	if err != nil {
		t.Fatal(err)
	}
	h2, b2, err := deriveKeys("two", testBinding)
	if err != nil {
		t.Fatal(err)
	}
	h3, b3, err := deriveKeys("one", "another binding")
	if err != nil {
		t.Fatal(err)
	}
	if len(h1) != 32 || len(b1) != 32 {
		t.Errorf("key lengths %d and %d, want 32", len(h1), len(b1))
	}
	if !bytes.Equal(h1, h1again) || !bytes.Equal(b1, b1again) {
		t.Error("keys differ between derivations from the same secret and binding")
	}
	for _, pair := range [][2][]byte{{h1, b1}, {h1, h2}, {b1, b2}, {h1, h3}, {b1, b3}} {
		if bytes.Equal(pair[0], pair[1]) {
			t.Errorf("keys %x and %x are equal, want distinct", pair[0], pair[1])
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	allBytes := make(testBlob, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	for _, tc := range []struct {
		name string
		v    testBlob
	}{
		{"empty", testBlob{}},
		{"one byte", testBlob("v")},
		{"every byte", allBytes},
		{"incompressible", randomBytes(t, 64<<10)},
		{"compressible", bytes.Repeat([]byte("eyJhbGciOiJSUzI1NiJ9."), 1000)},
		{"at the limit", randomBytes(t, maxPayload)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCodec(t, time.Hour, testSecret)
			s, err := c.Encode("session", tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var got testBlob
			stale, err := c.Decode("session", s, &got)
			if err != nil || stale {
				t.Fatalf("Decode = stale %t, error %v; want false, nil", stale, err)
			}
			if !bytes.Equal(got, tc.v) {
				t.Errorf("decoded %d bytes, want the %d encoded", len(got), len(tc.v))
			}
		})
	}
}

func TestCodecRoundTripSession(t *testing.T) {
	c := newTestCodec(t, time.Hour, testSecret)
	want, _ := newSession(t)
	s, err := c.Encode("session", &want)
	if err != nil {
		t.Fatal(err)
	}
	var got testSession
	if _, err := c.Decode("session", s, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	c := newTestCodec(t, 0, testSecret)
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"not a BinaryMarshaler", map[string]any{"sub": "1"}},
		{"MarshalBinary fails", failingMarshaler{}},
		{"over the limit", make(testBlob, maxPayload+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := c.Encode("session", tc.v); err == nil {
				t.Errorf("Encode = %.20q…, want error", s)
			}
		})
	}
}

// failingMarshaler is an encoding.BinaryMarshaler that always fails.
type failingMarshaler struct{}

func (failingMarshaler) MarshalBinary() ([]byte, error) { return nil, errors.New("no") }

func TestEncodedSize(t *testing.T) {
	c := newTestCodec(t, time.Hour, testSecret)
	session, js := newSession(t)
	s, err := c.Encode("session", &session)
	if err != nil {
		t.Fatal(err)
	}
	hashKey, blockKey, err := deriveKeys(testSecret, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := securecookie.New(hashKey, blockKey).MaxLength(0).
		SetSerializer(securecookie.JSONEncoder{}).Encode("session", session)
	if err != nil {
		t.Fatal(err)
	}
	ratio := float64(len(s)) / float64(len(js))
	t.Logf("JSON %d bytes; cookie %d bytes (%.2fx); with securecookie.JSONEncoder %d bytes (%.2fx)",
		len(js), len(s), ratio, len(plain), float64(len(plain))/float64(len(js)))
	if ratio > maxSizeRatio {
		t.Errorf("cookie is %.2fx the JSON, want at most %.2fx", ratio, maxSizeRatio)
	}
}

func TestDecodeRejects(t *testing.T) {
	c := newTestCodec(t, time.Hour, testSecret)
	valid, err := c.Encode("a", testBlob("v"))
	if err != nil {
		t.Fatal(err)
	}
	var v testBlob
	if _, err := c.Decode("a", valid, &v); err != nil {
		t.Fatalf("Decode of the valid value: %v", err)
	}
	other := newTestCodec(t, time.Hour, "another secret")
	for _, tc := range []struct {
		name, cookie, value string
		codec               *Codec
	}{
		{"empty", "a", "", c},
		{"garbage", "a", "not a cookie!", c},
		{"pipes", "a", base64.URLEncoding.EncodeToString([]byte("1|2|3")), c},
		{"huge", "a", strings.Repeat("A", 1<<20), c},
		{"huge garbage", "a", strings.Repeat("\xff|", 1<<19), c},
		{"wrong name", "b", valid, c},
		{"unknown secret", "a", valid, other},
		{"valid twice", "a", valid + valid, c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v testBlob
			if stale, err := tc.codec.Decode(tc.cookie, tc.value, &v); !errors.Is(err, ErrInvalid) || stale {
				t.Errorf("Decode = stale %t, error %v; want false, ErrInvalid", stale, err)
			}
		})
	}
}

func TestDecodeTampered(t *testing.T) {
	c := newTestCodec(t, time.Hour, testSecret)
	session, _ := newSession(t)
	s, err := c.Encode("session", &session)
	if err != nil {
		t.Fatal(err)
	}
	// Flip the bits of the bytes the MAC covers, rather than of their
	// base64 text: changing only the padding bits of a base64 character
	// leaves the decoded bytes, and so the value, unchanged.
	raw, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			tampered := bytes.Clone(raw)
			tampered[i] ^= mask
			var v testSession
			_, err := c.Decode("session", base64.URLEncoding.EncodeToString(tampered), &v)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: Decode error %v, want ErrInvalid", i, mask, err)
			}
		}
	}
	for i := range len(s) {
		var v testSession
		if _, err := c.Decode("session", s[:i], &v); !errors.Is(err, ErrInvalid) {
			t.Fatalf("prefix of %d bytes: Decode error %v, want ErrInvalid", i, err)
		}
	}
}

func TestDecodeRotation(t *testing.T) {
	oldCodec := newTestCodec(t, time.Hour, "old secret")
	rotated := newTestCodec(t, time.Hour, "new secret", "old secret")
	want := testBlob("1234")
	for _, tc := range []struct {
		name      string
		encoder   *Codec
		wantStale bool
	}{
		{"old secret", oldCodec, true},
		{"current secret", rotated, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.encoder.Encode("session", want)
			if err != nil {
				t.Fatal(err)
			}
			var got testBlob
			stale, err := rotated.Decode("session", s, &got)
			if err != nil || stale != tc.wantStale {
				t.Fatalf("Decode = stale %t, error %v; want %t, nil", stale, err, tc.wantStale)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded %q, want %q", got, want)
			}
		})
	}
	s, err := rotated.Encode("session", want)
	if err != nil {
		t.Fatal(err)
	}
	var got testBlob
	if _, err := oldCodec.Decode("session", s, &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("Decode under the old secret alone: error %v, want ErrInvalid", err)
	}
}

// TestDecodeBinding: a value decodes only under the binding that wrote it,
// whichever of the secrets wrote it; the same secret under another binding
// (another app sharing the secret) refuses it.
func TestDecodeBinding(t *testing.T) {
	const otherBinding = "https://acme-corp.us.monocloud.com\x00another-client"
	current := newTestCodec(t, time.Hour, "new secret")
	old := newTestCodec(t, time.Hour, "old secret")
	rotated := newTestCodec(t, time.Hour, "new secret", "old secret")
	otherApp := newBoundCodec(t, time.Hour, otherBinding, "new secret", "old secret")
	unbound := newBoundCodec(t, time.Hour, "", "new secret", "old secret")
	for _, tc := range []struct {
		name    string
		encoder *Codec
		decoder *Codec
		wantErr bool
	}{
		{"same binding", current, rotated, false},
		{"same binding, previous secret", old, rotated, false},
		{"other binding", current, otherApp, true},
		{"other binding, previous secret", old, otherApp, true},
		{"no binding", current, unbound, true},
		{"from no binding", unbound, rotated, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.encoder.Encode("session", testBlob("v"))
			if err != nil {
				t.Fatal(err)
			}
			var v testBlob
			_, err = tc.decoder.Decode("session", s, &v)
			if tc.wantErr != errors.Is(err, ErrInvalid) || (!tc.wantErr && err != nil) {
				t.Errorf("Decode error %v, want error %t", err, tc.wantErr)
			}
		})
	}
}

func TestDecodeExpired(t *testing.T) {
	const maxAge = time.Hour
	limited := newTestCodec(t, maxAge, testSecret)
	unlimited := newTestCodec(t, 0, testSecret)
	s, err := limited.Encode("session", testBlob("v"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name      string
		timestamp time.Time
		codec     *Codec
		wantErr   bool
	}{
		{"fresh", now, limited, false},
		{"within max age", now.Add(-maxAge + time.Minute), limited, false},
		{"expired", now.Add(-maxAge - time.Minute), limited, true},
		{"ancient without max age", now.AddDate(-10, 0, 0), unlimited, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v testBlob
			_, err := tc.codec.Decode("session", restamp(t, s, "session", tc.timestamp), &v)
			if tc.wantErr != errors.Is(err, ErrInvalid) || (!tc.wantErr && err != nil) {
				t.Errorf("Decode error %v, want error %t", err, tc.wantErr)
			}
		})
	}
}

// restamp returns value, a securecookie value for the cookie called name
// under testSecret and testBinding, with its timestamp replaced by ts and
// its MAC redone. It relies on securecookie's format:
// base64("date|value|mac"), the MAC being over "name|date|value".
func restamp(tb testing.TB, value, name string, ts time.Time) string {
	tb.Helper()
	raw, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		tb.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		tb.Fatalf("value has %d parts, want 3", len(parts))
	}
	hashKey, _, err := deriveKeys(testSecret, testBinding)
	if err != nil {
		tb.Fatal(err)
	}
	b := fmt.Appendf(nil, "%s|%d|%s", name, ts.Unix(), parts[1])
	mac := hmac.New(sha256.New, hashKey)
	mac.Write(b)
	b = append(append(b, '|'), mac.Sum(nil)...)[len(name)+1:]
	return base64.URLEncoding.EncodeToString(b)
}

func TestCodecConcurrent(t *testing.T) {
	c := newTestCodec(t, time.Hour, testSecret, "old secret")
	session, _ := newSession(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				want := session
				want.Key = fmt.Sprint(g, "-", i)
				s, err := c.Encode("session", &want)
				if err != nil {
					t.Error(err)
					return
				}
				var got testSession
				if _, err := c.Decode("session", s, &got); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("goroutine %d, round %d: Decode error %v, or decoded value differs", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
