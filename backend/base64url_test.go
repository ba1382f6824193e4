package backend

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// checkBase64URL checks decodeBase64URL against encoding/base64's strict
// decoder: the same bytes where both accept, the same verdict but for
// line breaks (refused here, skipped there), and a CorruptInputError
// when it refuses.
func checkBase64URL(t *testing.T, src string) {
	t.Helper()
	dst := make([]byte, base64.RawURLEncoding.DecodedLen(len(src)))
	n, err := decodeBase64URL(dst, src)
	want, theirErr := base64.RawURLEncoding.Strict().DecodeString(src)
	hasBreak := strings.ContainsAny(src, "\r\n")
	switch {
	case err == nil && (theirErr != nil || hasBreak):
		t.Fatalf("%q: decoded, encoding/base64 says %v (line breaks: %v)", src, theirErr, hasBreak)
	case err != nil && theirErr == nil && !hasBreak:
		t.Fatalf("%q: refused (%v), encoding/base64 decodes it", src, err)
	case err == nil && string(dst[:n]) != string(want):
		t.Fatalf("%q: %x, encoding/base64 gives %x", src, dst[:n], want)
	case err != nil && !errors.As(err, new(base64.CorruptInputError)):
		t.Fatalf("%q: %T %v, want a base64.CorruptInputError", src, err, err)
	}
}

var base64URLSeeds = []string{
	"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "QUJD", "QUJDRA", "QUJDREU", "QUJDREVG", "QUJDREVGRw",
	"-_-_", "+/+/", "QUJD=", "QUJDRA==", "QU JD", "QUJD\nREVG", "QUJD\r\n", "\x00\x00\x00\x00", "QUJDREV\xff",
	"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ", "c2lnbmF0dXJl", "c2lnbmF0dXJlcw", "c2lnbmF0dXJlc3M",
}

func TestDecodeBase64URL(t *testing.T) {
	for _, src := range base64URLSeeds {
		checkBase64URL(t, src)
	}
	// Every byte at every position of strings of 1 to 12 characters, so
	// that each is read in the eight-character loop, the four-character
	// step and the tail.
	for n := 1; n <= 12; n++ {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("Q", n))
				b[pos] = byte(c)
				checkBase64URL(t, string(b))
			}
		}
	}
}

func FuzzDecodeBase64URL(f *testing.F) {
	for _, src := range base64URLSeeds {
		f.Add(src)
	}
	f.Fuzz(checkBase64URL)
}
