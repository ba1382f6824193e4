// Package settings reads configuration fields: the value set in code, else
// an environment variable, else a default. It collects every problem as a
// Problem, which each caller turns into its own public error type once.
package settings

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
)

// Problem is an invalid field: the field of the options, its environment
// variable ("" for none) and what is wrong with it.
type Problem struct {
	Field, Variable string
	Message         string
}

// Reader reads fields and collects the problems it finds.
type Reader struct {
	lookup   func(name string) (string, bool)
	problems []Problem
}

// NewReader returns a Reader that reads variables with lookup, such as
// os.LookupEnv.
func NewReader(lookup func(name string) (string, bool)) *Reader {
	return &Reader{lookup: lookup}
}

// Problems returns the problems found so far, in the order found.
func (r *Reader) Problems() []Problem { return r.problems }

// Fail records a problem with field and its variable.
func (r *Reader) Fail(field, variable, format string, args ...any) {
	r.problems = append(r.problems, Problem{Field: field, Variable: variable, Message: fmt.Sprintf(format, args...)})
}

// String returns v, else the variable if it is set and not empty, else def.
func (r *Reader) String(v, variable, def string) string {
	if v != "" {
		return v
	}
	if e, ok := r.lookup(variable); ok && e != "" {
		return e
	}
	return def
}

// Required returns v, else the variable, and records a problem if both are
// empty.
func (r *Reader) Required(v, field, variable string) string {
	v = r.String(v, variable, "")
	if v == "" {
		r.Fail(field, variable, "is required")
	}
	return v
}

// Bool returns *v, else the variable as true or false (in any case), else
// def.
func (r *Reader) Bool(v *bool, field, variable string, def bool) bool {
	if v != nil {
		return *v
	}
	e, ok := r.lookup(variable)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(e)) {
	case "true":
		return true
	case "false":
		return false
	}
	r.Fail(field, variable, "must be true or false, got %q", e)
	return def
}

// Duration returns *v, else the variable as a Go duration or a whole number
// of unit (see ParseDuration), else def.
func (r *Reader) Duration(v *time.Duration, field, variable string, unit, def time.Duration) time.Duration {
	if v != nil {
		return *v
	}
	e, ok := r.lookup(variable)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	d, err := ParseDuration(e, unit)
	if err != nil {
		r.Fail(field, variable, "%v", err)
		return def
	}
	return d
}

// Int returns v if it is not zero, else the variable as a whole number,
// else def.
func (r *Reader) Int(v int, field, variable string, def int) int {
	if v != 0 {
		return v
	}
	e, ok := r.lookup(variable)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(e))
	if err != nil {
		r.Fail(field, variable, "must be a whole number, got %q", e)
		return def
	}
	return n
}

// List returns v if it is not nil, else the space-separated items of the
// variable, else those of def.
func (r *Reader) List(v []string, variable, def string) []string {
	if v != nil {
		return v
	}
	return strings.Fields(r.String("", variable, def))
}

// Issuer returns the issuer URL of the tenant domain v, else of the
// variable (see provider.IssuerURL), or "" after recording a problem.
func (r *Reader) Issuer(v, field, variable string) string {
	v = r.Required(v, field, variable)
	if v == "" {
		return ""
	}
	issuer, ok := provider.IssuerURL(v)
	if !ok {
		r.Fail(field, variable, "must be a host name or an http(s) URL without query or fragment, got %q", issuer)
		return ""
	}
	return issuer
}
