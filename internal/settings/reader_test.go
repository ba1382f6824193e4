package settings

import (
	"reflect"
	"testing"
	"time"
)

// environment is a lookup over a fixed set of variables.
func environment(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// TestReaderPrefersValueThenVariableThenDefault: a value set in code wins,
// a set variable comes next, and the default fills the rest.
func TestReaderPrefersValueThenVariableThenDefault(t *testing.T) {
	r := NewReader(environment(map[string]string{
		"S": "env", "B": " TRUE ", "D": "90", "I": " 7 ", "L": "a  b", "EMPTY": "",
	}))
	yes, hour := false, time.Hour
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"String value", r.String("v", "S", "def"), "v"},
		{"String variable", r.String("", "S", "def"), "env"},
		{"String empty variable", r.String("", "EMPTY", "def"), "def"},
		{"String unset", r.String("", "UNSET", "def"), "def"},
		{"Bool value", r.Bool(&yes, "B", "B", false), false},
		{"Bool variable", r.Bool(nil, "B", "B", false), true},
		{"Bool unset", r.Bool(nil, "B", "UNSET", true), true},
		{"Duration value", r.Duration(&hour, "D", "D", time.Second, 0), time.Hour},
		{"Duration variable", r.Duration(nil, "D", "D", time.Second, 0), 90 * time.Second},
		{"Duration unset", r.Duration(Optional(0), "D", "UNSET", time.Second, time.Minute), time.Minute},
		{"Int value", r.Int(3, "I", "I", 1), 3},
		{"Int variable", r.Int(0, "I", "I", 1), 7},
		{"List value", r.List([]string{}, "L", "x"), []string{}},
		{"List variable", r.List(nil, "L", "x"), []string{"a", "b"}},
		{"List default", r.List(nil, "UNSET", "x y"), []string{"x", "y"}},
		{"Issuer", r.Issuer("tenant.example.com", "TenantDomain", "UNSET"), "https://tenant.example.com"},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s = %#v, want %#v", check.name, check.got, check.want)
		}
	}
	if p := r.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
}

// TestReaderRecordsEveryProblemAndKeepsTheDefault: each bad variable is one
// Problem naming the field and the variable, and the default is used.
func TestReaderRecordsEveryProblemAndKeepsTheDefault(t *testing.T) {
	r := NewReader(environment(map[string]string{"B": "yes", "D": "1d", "I": "five"}))
	if got := r.Bool(nil, "Flag", "B", true); !got {
		t.Error("Bool: default not kept")
	}
	if got := r.Duration(nil, "Wait", "D", time.Second, time.Minute); got != time.Minute {
		t.Errorf("Duration = %v, want the default", got)
	}
	if got := r.Int(0, "Count", "I", 4); got != 4 {
		t.Errorf("Int = %d, want the default", got)
	}
	r.Required("", "ID", "UNSET")
	r.Issuer("https://tenant.example.com/?q", "TenantDomain", "UNSET")
	want := []Problem{
		{"Flag", "B", `must be true or false, got "yes"`},
		{"Wait", "D", `must be a Go duration such as 90s or 1h, or a whole number of seconds, got "1d"`},
		{"Count", "I", `must be a whole number, got "five"`},
		{"ID", "UNSET", "is required"},
		{"TenantDomain", "UNSET", `must be a host name or an http(s) URL without query or fragment, got "https://tenant.example.com/?q"`},
	}
	if got := r.Problems(); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%q\nwant\n%q", got, want)
	}
}
