package monocloud

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/monocloud/auth-go/internal/wire"
	"github.com/monocloud/auth-go/monocloudtest"
)

// wireSamples are session cookies of each shape: signed in through the
// test provider, in store mode, and with every kind of claim.
func wireSamples(tb testing.TB) map[string]*sessionCookie {
	tb.Helper()
	app := newTestApp(tb, monocloudtest.Config{Claims: map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
		"groups": []any{"staff", "admin"},
	}}, Options{}, nil, nil)
	app.signIn("")
	signedIn := decodeSessionCookie(tb, app.client, app.cookies())
	rich := sampleSession(10)
	rich.User["address"] = map[string]any{"country": "UK", "lines": []any{"1 Main St", nil}}
	rich.User["updated_at"] = 1.7e9
	rich.User["score"] = -0.5
	rich.Extra["tenant"] = struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}{7, "acme"}
	rich.AuthorizedResources = "https://api.example.com"
	return map[string]*sessionCookie{
		"signed in":  &signedIn,
		"store mode": {Key: newKey(), Lifetime: lifetime{C: 1, U: 2, E: 3}, Version: tokenVersion("rt")},
		"rich":       {Key: "not hex: a key of an older version", Lifetime: lifetime{C: -1}, Session: rich},
		"empty":      {Session: &Session{User: User{}}},
	}
}

func TestSessionCookieBinaryRoundTrip(t *testing.T) {
	for name, sc := range wireSamples(t) {
		t.Run(name, func(t *testing.T) {
			p, err := sc.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got sessionCookie
			if err := got.UnmarshalBinary(p); err != nil {
				t.Fatal(err)
			}
			// What a JSON cookie held, except that nothing is lost.
			if gotJSON, wantJSON := mustJSON(t, got.withUser()), mustJSON(t, sc); gotJSON != wantJSON {
				t.Errorf("decoded %s, want %s", gotJSON, wantJSON)
			}
			// Re-encoded from the encoded claims, and from the decoded ones.
			if again, err := got.MarshalBinary(); err != nil || !bytes.Equal(again, p) {
				t.Errorf("re-encoded %x, %v; want %x", again, err, p)
			}
			if again, err := got.withUser().MarshalBinary(); err != nil || !bytes.Equal(again, p) {
				t.Errorf("re-encoded with the claims decoded: %x, %v; want %x", again, err, p)
			}
		})
	}
}

// TestSessionCookieKeepsNilAndEmpty checks what JSON did not: nil and
// empty claims differ, and each re-encodes as it was. A session without
// claims is served with an empty User.
func TestSessionCookieKeepsNilAndEmpty(t *testing.T) {
	var encoded [2][]byte
	for i, user := range []User{nil, {}} {
		sc := &sessionCookie{Key: "k", Session: &Session{User: user}}
		p, err := sc.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got sessionCookie
		if err := got.UnmarshalBinary(p); err != nil {
			t.Fatal(err)
		}
		if again, err := got.MarshalBinary(); err != nil || !bytes.Equal(again, p) {
			t.Errorf("user %#v re-encoded as %x, %v; want %x", user, again, err, p)
		}
		if u := got.userClaims(); u == nil || len(u) != 0 {
			t.Errorf("user %#v served as %#v, want empty", user, u)
		}
		if got.Session.Extra != nil || got.Session.AccessTokens != nil {
			t.Errorf("decoded extra %#v, access tokens %#v; want nil, nil", got.Session.Extra, got.Session.AccessTokens)
		}
		encoded[i] = p
	}
	if bytes.Equal(encoded[0], encoded[1]) {
		t.Error("nil and empty claims encode alike")
	}
}

func TestSessionCookieUnmarshalRejects(t *testing.T) {
	p, err := wireSamples(t)["signed in"].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wrongVersion := bytes.Clone(p)
	n, k := binary.Uvarint(p) // the strings, then the version
	wrongVersion[k+int(n)]++
	inputs := map[string][]byte{
		"empty":          nil,
		"trailing byte":  append(bytes.Clone(p), 0),
		"wrong version":  wrongVersion,
		"truncated by 1": p[:len(p)-1],
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			sc := sessionCookie{Key: "unchanged"}
			if err := sc.UnmarshalBinary(in); !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("UnmarshalBinary = %v, want wire.ErrMalformed", err)
			}
			if sc.Key != "unchanged" || sc.Session != nil {
				t.Errorf("UnmarshalBinary changed the cookie to %+v", sc)
			}
		})
	}
}

// TestSessionCookieVersion1StillDecodes checks that a session cookie
// written before the binary format, as JSON, keeps its user signed in.
func TestSessionCookieVersion1StillDecodes(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, nil)
	app.signIn("")
	want := decodeSessionCookie(t, app.client, app.cookies())
	// jsonCookie has sessionCookie's fields without its MarshalBinary.
	type jsonCookie sessionCookie
	v1, err := app.client.sessionCodec.Encode(app.client.cfg.sessionCookie.name, (*jsonCookie)(&want))
	if err != nil {
		t.Fatal(err)
	}
	current, err := app.client.sessionCodec.Encode(app.client.cfg.sessionCookie.name, &want)
	if err != nil {
		t.Fatal(err)
	}
	if v1 == current {
		t.Fatal("the JSON and binary cookies are the same")
	}
	app.client.sessions = newSessionCache()
	got, _, err := app.client.decodeSession(v1)
	if err != nil {
		t.Fatalf("decoding a version 1 cookie: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

// FuzzSessionCookie checks that UnmarshalBinary never panics and that what
// it accepts MarshalBinary writes back byte for byte.
func FuzzSessionCookie(f *testing.F) {
	for _, sc := range wireSamples(f) {
		p, err := sc.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var sc sessionCookie
		if sc.UnmarshalBinary(p) != nil {
			return
		}
		again, err := sc.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", sc, err)
		}
		if !bytes.Equal(again, p) {
			js, _ := json.Marshal(sc)
			t.Errorf("decoded %s from %x, which re-encodes as %x", js, p, again)
		}
	})
}

// TestSessionDecodeAllocations bounds the allocations of decoding a
// signed-in session's cookie value, uncached: about a dozen are
// securecookie's, the rest one per claim, token and struct (JSON took 113).
func TestSessionDecodeAllocations(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{Claims: map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
		"picture": "https://example.com/ada.png", "groups": []any{"staff", "admin"},
	}}, Options{}, nil, nil)
	app.signIn("")
	var value string
	for _, ck := range app.cookies() {
		if ck.Name == app.client.cfg.sessionCookie.name {
			value = ck.Value
		}
	}
	codec := app.client.sessionCodec
	allocs := testing.AllocsPerRun(50, func() {
		var sc sessionCookie
		if _, err := codec.Decode(app.client.cfg.sessionCookie.name, value, &sc); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocations", allocs)
	if allocs > 40 {
		t.Errorf("decoding allocated %v times, want at most 40", allocs)
	}
}
