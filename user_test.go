package monocloud

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestUserDecode: Decode fills a struct with json tags from the claims,
// nested values included, and reports a claim that does not fit its field
// as the wrapped encoding/json error.
func TestUserDecode(t *testing.T) {
	type address struct {
		Country string `json:"country"`
	}
	type claims struct {
		Subject       string   `json:"sub"`
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		UpdatedAt     int64    `json:"updated_at"`
		Groups        []string `json:"groups"`
		Address       address  `json:"address"`
		Missing       string   `json:"missing"`
	}
	u := User{
		"sub": "u-1", "email": "ada@example.com", "email_verified": true,
		"updated_at": float64(1700000000), "groups": []any{"admin", "staff"},
		"address": map[string]any{"country": "GB"},
	}
	var got claims
	if err := u.Decode(&got); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := claims{"u-1", "ada@example.com", true, 1700000000, []string{"admin", "staff"}, address{"GB"}, ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}

	var wrong struct {
		EmailVerified string `json:"email_verified"`
	}
	err := u.Decode(&wrong)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || typeErr.Field != "email_verified" {
		t.Errorf("Decode into a mistyped field = %v, want a *json.UnmarshalTypeError for email_verified, wrapped", err)
	}
	if err := u.Decode(claims{}); err == nil {
		t.Error("Decode into a non-pointer = nil error")
	}
}

// TestUserAccessors: Subject, Email and Name read string claims and give
// "" for a missing or non-string one.
func TestUserAccessors(t *testing.T) {
	u := User{"sub": "u-1", "email": "ada@example.com", "name": "Ada Lovelace"}
	if u.Subject() != "u-1" || u.Email() != "ada@example.com" || u.Name() != "Ada Lovelace" {
		t.Errorf("Subject, Email, Name = %q, %q, %q", u.Subject(), u.Email(), u.Name())
	}
	odd := User{"sub": 42, "email": []any{"a@example.com"}}
	if odd.Subject() != "" || odd.Email() != "" || odd.Name() != "" {
		t.Errorf("non-string claims: Subject, Email, Name = %q, %q, %q, want empty", odd.Subject(), odd.Email(), odd.Name())
	}
	var none User
	if none.Subject() != "" || none.Groups("groups") != nil {
		t.Error("a nil User has claims")
	}
}

// TestUserGroups: Groups lists the strings of the claim and the name (else
// the id) of its objects, skipping anything else.
func TestUserGroups(t *testing.T) {
	u := User{
		"groups": []any{"admin", map[string]any{"id": "g-1", "name": "editors"}, map[string]any{"id": "g-2"}, map[string]any{}, 7, nil},
		"roles":  []any{"billing"},
		"single": "admin",
	}
	tests := []struct {
		claim string
		want  []string
	}{
		{"groups", []string{"admin", "editors", "g-2"}},
		{"roles", []string{"billing"}},
		{"single", nil},
		{"absent", nil},
	}
	for _, tt := range tests {
		if got := u.Groups(tt.claim); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Groups(%q) = %q, want %q", tt.claim, got, tt.want)
		}
	}
}
