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
		if s, err = c.Encode("session", session); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s)), "cookie-bytes")
}

func BenchmarkDecode(b *testing.B) {
	b.Run("map", func(b *testing.B) {
		benchmarkDecode(b, func() any { return new(map[string]any) })
	})
	b.Run("struct", func(b *testing.B) {
		benchmarkDecode(b, func() any { return new(testSession) })
	})
}

func benchmarkDecode(b *testing.B, newValue func() any) {
	c := newTestCodec(b, time.Hour, testSecret)
	session, _ := newSession(b)
	s, err := c.Encode("session", session)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Decode("session", s, newValue()); err != nil {
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
