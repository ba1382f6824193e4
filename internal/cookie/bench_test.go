package cookie

import (
	"bytes"
	"compress/flate"
	"fmt"
	"testing"
	"time"
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

// BenchmarkDecode decodes a realistic session: "struct" as sessions are
// written, in the binary format; "v1" as they were written before it, as
// JSON, which still decodes.
func BenchmarkDecode(b *testing.B) {
	session, _ := newSession(b)
	b.Run("struct", func(b *testing.B) { benchmarkDecode(b, &session) })
	b.Run("v1", func(b *testing.B) { benchmarkDecode(b, session) })
}

func benchmarkDecode(b *testing.B, session any) {
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

// BenchmarkFlateLevel measures compressing a session's payload at each
// level; it is how flateLevel was chosen. Writers are reused, as Serialize
// reuses them.
func BenchmarkFlateLevel(b *testing.B) {
	_, js := newSession(b)
	p := pack(js)
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, 2, 4, flate.DefaultCompression, flate.BestCompression} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			var buf bytes.Buffer
			zw, err := flate.NewWriter(&buf, level)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				buf.Reset()
				zw.Reset(&buf)
				if _, err := zw.Write(p); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "compressed-bytes")
		})
	}
}
