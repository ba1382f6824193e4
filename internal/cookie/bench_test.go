package cookie

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

func BenchmarkEncode(b *testing.B) {
	c := newTestCodec(b, time.Hour, testSecret)
	session, _ := newSession(b)
	var s string
	for b.Loop() {
		var err error
		if s, err = c.Encode("session", &session); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s)), "cookie-bytes")
}

// BenchmarkDecode decodes a realistic session, and compares it with
// securecookie's own work.
func BenchmarkDecode(b *testing.B) {
	session, _ := newSession(b)
	b.Run("struct", func(b *testing.B) { benchmarkDecode(b, &session) })
	b.Run("securecookie-floor", func(b *testing.B) {
		// securecookie's own work on a value of the same size: base64
		// (twice), HMAC-SHA256 and AES-CTR, with a serializer that only
		// copies the payload. No decode of a session can cost less while
		// securecookie is kept.
		payload, err := binarySerializer{}.Serialize(&session)
		if err != nil {
			b.Fatal(err)
		}
		hashKey, blockKey, err := deriveKeys(testSecret, "")
		if err != nil {
			b.Fatal(err)
		}
		sc := securecookie.New(hashKey, blockKey).MaxLength(0).SetSerializer(rawSerializer{})
		s, err := sc.Encode("session", payload)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var got []byte
			if err := sc.Decode("session", s, &got); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(s)), "cookie-bytes")
	})
}

// rawSerializer is a securecookie.Serializer of []byte values that copies
// them.
type rawSerializer struct{}

func (rawSerializer) Serialize(v any) ([]byte, error) { return bytes.Clone(v.([]byte)), nil }

func (rawSerializer) Deserialize(data []byte, v any) error {
	*v.(*[]byte) = bytes.Clone(data)
	return nil
}

func benchmarkDecode(b *testing.B, session *testSession) {
	c := newTestCodec(b, time.Hour, testSecret)
	s, err := c.Encode("session", session)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Decode("session", s, new(testSession)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s)), "cookie-bytes")
}
