package wire

import (
	"bytes"
	"testing"
)

// FuzzReader checks that a Reader never panics, and that whatever it
// accepts a Writer writes back byte for byte: each value has one encoding.
func FuzzReader(f *testing.F) {
	for _, seed := range []struct {
		token string
		v     any
	}{
		{"", nil},
		{"eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln", map[string]any{"sub": "1234", "n": 1.5, "ok": true}},
		{"0a1b", []any{"x", -2.0, false, nil, map[string]any{}}},
		{"Zm9vYmFy", 1e300},
	} {
		var w Writer
		w.Token(seed.token)
		w.Value(seed.v)
		p, err := w.Bytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r := NewReader(p)
		token, v := r.Token(), r.Value()
		if r.Done() != nil {
			return
		}
		var w Writer
		w.Token(token)
		w.Value(v)
		again, err := w.Bytes()
		if err != nil {
			t.Fatalf("writing back %q, %#v: %v", token, v, err)
		}
		if !bytes.Equal(again, p) {
			t.Errorf("read %q, %#v from %x, which writes back as %x", token, v, p, again)
		}
	})
}
