package wire

import (
	"bytes"
	"reflect"
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

// FuzzRawMap checks that RawMap accepts exactly what Map accepts, that the
// Raw decodes to what Map returns, and that a Writer writes it back byte
// for byte.
func FuzzRawMap(f *testing.F) {
	for _, v := range []map[string]any{
		nil,
		{},
		{"sub": "1234", "n": 1.5, "ok": true, "groups": []any{"a", map[string]any{"id": "b"}}, "x": nil},
	} {
		var w Writer
		w.Str("before")
		w.Map(v)
		w.Str("after")
		p, err := w.Bytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r := NewReader(p)
		before, m, after := r.Str(), r.Map(), r.Str()
		mapErr := r.Done()
		r = NewReader(p)
		rawBefore, raw, rawAfter := r.Str(), r.RawMap(), r.Str()
		if rawErr := r.Done(); (mapErr == nil) != (rawErr == nil) {
			t.Fatalf("Map: %v; RawMap: %v", mapErr, rawErr)
		}
		if mapErr != nil {
			return
		}
		if got := raw.Map(); !reflect.DeepEqual(got, m) || rawBefore != before || rawAfter != after {
			t.Errorf("RawMap read %q, %#v, %q; Map read %q, %#v, %q", rawBefore, got, rawAfter, before, m, after)
		}
		var w Writer
		w.Str(rawBefore)
		w.Raw(raw)
		w.Str(rawAfter)
		if again, err := w.Bytes(); err != nil || !bytes.Equal(again, p) {
			t.Errorf("read %x, which writes back as %x, %v", p, again, err)
		}
	})
}
