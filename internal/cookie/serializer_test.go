package cookie

import (
	"bytes"
	"compress/flate"
	"errors"
	"runtime"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/klauspost/compress/s2"
)

// serialized returns p as Serialize writes it.
func serialized(p []byte) []byte {
	return append([]byte{binaryHeader}, s2.Encode(nil, p)...)
}

func TestDeserialize(t *testing.T) {
	valid := serialized([]byte("value"))
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" for an error
	}{
		{"valid", valid, "value"},
		{"empty", nil, ""},
		{"no header", valid[1:], ""},
		{"header alone", valid[:1], ""},
		{"unknown version", append([]byte{binaryHeader + 8}, valid[1:]...), ""},
		{"truncated", valid[:len(valid)-1], ""},
		{"longer than its length", append(bytes.Clone(valid), 0), ""},
		{"not s2", append([]byte{binaryHeader}, "hello, world"...), ""},
		{"version 1 (DEFLATE)", deflated(t, []byte{1, 2, '{', '}'}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got testBlob
			err := binarySerializer{}.Deserialize(tc.data, &got)
			if tc.want == "" {
				if !errors.Is(err, errMalformed) {
					t.Errorf("Deserialize = %q, %v; want errMalformed", got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("Deserialize = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDeserializeTargets(t *testing.T) {
	data := serialized([]byte("value"))
	var m map[string]any
	if err := (binarySerializer{}).Deserialize(data, &m); err == nil {
		t.Errorf("Deserialize into a map = %v, want an error", m)
	}
	var s testSession
	if err := (binarySerializer{}).Deserialize(data, &s); err == nil {
		t.Errorf("Deserialize of a value UnmarshalBinary refuses = %+v, want an error", s)
	}
}

// deflated returns p compressed with DEFLATE, as version 1 values were.
func deflated(tb testing.TB, p []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := zw.Write(p); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// version1Value is a sign-in state cookie value, "state.st4te", written by
// the last build with format version 1 (JSON, then DEFLATE) under
// version1Secret and version1Binding, without a max age.
const (
	version1Secret  = "a secret of at least thirty-two bytes"
	version1Binding = "https://op.example.com\x00client"
	version1Value   = "MTc5NjU4MTYzNXxFM1NQYVQ0a1JTTlB5czh4WXBLa0g1TmdLM05wYWVlUmw5blZUSF9xbG5LYl9PT3p5QTBfa1JnYmc2NGdmWmNfNjFnT240eDVXaVFOM1M2VGlxdWdDWEZvOGh3SnVOMGk1cDhvelplNzFLcDY0Vm1CYy1DYXJlclgxajdxYjB5WVdmbFpmVFFCUUVJPXxgygxVMpJRXOWvoPAqp62G0rWlodO85r6gl6JLbtATMA=="
)

// TestDecodeRefusesVersion1: a value of format version 1, never released,
// is authentic yet refused, as any other malformed value.
func TestDecodeRefusesVersion1(t *testing.T) {
	hashKey, blockKey, err := deriveKeys(version1Secret, version1Binding)
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	raw := securecookie.New(hashKey, blockKey).MaxLength(0).SetSerializer(rawSerializer{})
	if err := raw.Decode("state.st4te", version1Value, &payload); err != nil {
		t.Fatalf("the version 1 value is not authentic: %v", err)
	}
	if err := (binarySerializer{}).Deserialize(payload, new(testBlob)); !errors.Is(err, errMalformed) {
		t.Errorf("Deserialize of the version 1 payload: %v, want errMalformed", err)
	}
	c := newBoundCodec(t, 0, version1Binding, version1Secret)
	var v testBlob
	if stale, err := c.Decode("state.st4te", version1Value, &v); !errors.Is(err, ErrInvalid) || stale {
		t.Errorf("Decode = stale %t, error %v; want false, ErrInvalid", stale, err)
	}
}

func TestDeserializeLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"at the limit", maxPayload, false},
		{"over the limit", maxPayload + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got testBlob
			err := binarySerializer{}.Deserialize(serialized(make([]byte, tc.size)), &got)
			if tc.wantErr != errors.Is(err, errMalformed) || (!tc.wantErr && (err != nil || len(got) != tc.size)) {
				t.Errorf("Deserialize = %d bytes, error %v; want error %t", len(got), err, tc.wantErr)
			}
		})
	}
}

// TestDeserializeBomb checks that a value decompressing to far more than
// maxPayload costs little memory.
func TestDeserializeBomb(t *testing.T) {
	const inflated = 16 * maxPayload
	bomb := serialized(make([]byte, inflated))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := binarySerializer{}.Deserialize(bomb, new(testBlob))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errMalformed) {
		t.Errorf("Deserialize error %v, want errMalformed", err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d compressed bytes decompressing to %d allocated %d bytes", len(bomb), inflated, allocated)
	if allocated > maxPayload {
		t.Errorf("allocated %d bytes, want at most %d", allocated, maxPayload)
	}
}
