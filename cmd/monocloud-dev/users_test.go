package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want monocloudtest.User
	}{
		{"alice", monocloudtest.User{Subject: "alice", Claims: map[string]any{"name": "alice", "email": "alice@example.com"}}},
		{"admin:admin, editors", monocloudtest.User{Subject: "admin", Claims: map[string]any{
			"name": "admin", "email": "admin@example.com", "groups": []any{"admin", "editors"},
		}}},
	} {
		got, err := parseUser(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseUser(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseUser(":admin"); err == nil {
		t.Error("parseUser(\":admin\") succeeded, want an error for the missing name")
	}
}

func TestUsers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "users.json")
	if err := os.WriteFile(file, []byte(`[{"sub": "u-1", "name": "Ada", "groups": ["ops"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}

	defaults, err := users(nil, "")
	if err != nil || len(defaults) != 2 || defaults[0].Subject != "alice" || defaults[1].Subject != "admin" {
		t.Errorf("users without flags = %+v, %v; want alice and admin", defaults, err)
	}
	both, err := users(userFlags{"bob"}, file)
	want := []monocloudtest.User{
		{Subject: "u-1", Claims: map[string]any{"name": "Ada", "groups": []any{"ops"}}},
		{Subject: "bob", Claims: map[string]any{"name": "bob", "email": "bob@example.com"}},
	}
	if err != nil || !reflect.DeepEqual(both, want) {
		t.Errorf("users from a file and a flag = %+v, %v; want %+v", both, err, want)
	}

	for content, wantErr := range map[string]string{
		`{"sub": "u-1"}`:    "JSON array",
		`[{"name": "Ada"}]`: "no sub",
		`[]`:                "no users",
	} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := users(nil, file); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("users file %s: error %v, want %q", content, err, wantErr)
		}
	}
}
