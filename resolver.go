package monocloud

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
)

// resolver reads fields from Options, the environment and defaults, and
// collects every validation error.
type resolver struct {
	lookupEnv func(name string) (string, bool) // os.LookupEnv, or noEnvironment
	errs      []error
}

// noEnvironment is the lookupEnv of Options.IgnoreEnvironment: every variable
// is unset.
func noEnvironment(string) (string, bool) { return "", false }

func (r *resolver) fail(field, env, format string, args ...any) {
	r.errs = append(r.errs, &ValidationError{Field: field, EnvVar: env, Message: fmt.Sprintf(format, args...)})
}

func (r *resolver) str(v, env, def string) string {
	if v != "" {
		return v
	}
	if e, ok := r.lookupEnv(env); ok && e != "" {
		return e
	}
	return def
}

func (r *resolver) boolean(v *bool, field, env string, def bool) bool {
	if v != nil {
		return *v
	}
	e, ok := r.lookupEnv(env)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(e)) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(field, env, "must be true or false, got %q", e)
	return def
}

// duration reads v, else env as a Go duration or a whole number of unit
// (see parseDuration), else def.
func (r *resolver) duration(v time.Duration, field, env string, unit, def time.Duration) time.Duration {
	if v != 0 {
		return v
	}
	e, ok := r.lookupEnv(env)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	d, err := parseDuration(e, unit)
	if err != nil {
		r.fail(field, env, "%v", err)
		return def
	}
	return d
}

// integer reads v, else env as an integer, else def.
func (r *resolver) integer(v int, field, env string, def int) int {
	if v != 0 {
		return v
	}
	e, ok := r.lookupEnv(env)
	if !ok || strings.TrimSpace(e) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(e))
	if err != nil {
		r.fail(field, env, "must be a whole number, got %q", e)
		return def
	}
	return n
}

func (r *resolver) list(v []string, env, def string) []string {
	if v != nil {
		return v
	}
	return strings.Fields(r.str("", env, def))
}

// cookieNamesCollide reports whether cookies named a and b, or a.<x> and
// b.<y>, may have the same name.
func cookieNamesCollide(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

func (r *resolver) required(v, field, env string) string {
	v = r.str(v, env, "")
	if v == "" {
		r.fail(field, env, "is required")
	}
	return v
}

func (r *resolver) issuer(v string) string {
	const field, env = "TenantDomain", "MONOCLOUD_AUTH_TENANT_DOMAIN"
	if v == "" {
		r.fail(field, env, "is required")
		return ""
	}
	issuer, ok := provider.IssuerURL(v)
	if !ok {
		r.fail(field, env, "must be a host name or an http(s) URL without query or fragment, got %q", issuer)
		return ""
	}
	return issuer
}

func (r *resolver) appURL(v string) *url.URL {
	const field, env = "AppURL", "MONOCLOUD_AUTH_APP_URL"
	if v == "" {
		r.fail(field, env, "is required")
		return nil
	}
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(v), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		r.fail(field, env, "must be an absolute http(s) URL without query or fragment, got %q", v)
		return nil
	}
	return u
}

func (r *resolver) route(v, field, env, def string) string {
	v = strings.TrimSpace(r.str(v, env, def))
	if u, err := url.Parse(v); err != nil || u.Scheme != "" || u.Host != "" {
		r.fail(field, env, "must be a valid relative uri, got %q", v)
		return def
	}
	if !strings.HasPrefix(v, "/") {
		v = "/" + v
	}
	if len(v) > 1 {
		v = strings.TrimSuffix(v, "/")
	}
	if u, err := url.Parse(v); err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || strings.HasPrefix(v, "//") {
		r.fail(field, env, "must be a valid relative uri, got %q", v)
	}
	return v
}

func (r *resolver) scopes(v string) string {
	const field, env = "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES"
	s := joinFields(v)
	switch {
	case s == "":
		r.fail(field, env, "Scopes must be a space-separated string")
	case !slices.Contains(strings.Fields(s), "openid"):
		r.fail(field, env, "Scope must contain openid")
	}
	return s
}

// resource validates a space-separated list of resource indicators.
func (r *resolver) resource(v, field, env string) string {
	if v == "" {
		return ""
	}
	for _, item := range strings.Fields(v) {
		if !validResource(item) {
			r.fail(field, env, "Invalid resource %q: Resource must be a valid URL without query or hash parameters", item)
		}
	}
	if joinFields(v) == "" {
		r.fail(field, env, "Resource must not be empty")
	}
	return joinFields(v)
}

func validResource(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(s, "#")
}

func (r *resolver) cookie(o CookieOptions, field, envPrefix, defName string, secureDefault, persistentDefault bool) cookieConfig {
	c := cookieConfig{
		name:       r.str(o.Name, envPrefix+"NAME", defName),
		path:       r.str(o.Path, envPrefix+"PATH", "/"),
		domain:     r.str(o.Domain, envPrefix+"DOMAIN", ""),
		httpOnly:   r.boolean(o.HTTPOnly, field+".HTTPOnly", envPrefix+"HTTP_ONLY", true),
		secure:     r.boolean(o.Secure, field+".Secure", envPrefix+"SECURE", secureDefault),
		persistent: r.boolean(o.Persistent, field+".Persistent", envPrefix+"PERSISTENT", persistentDefault),
		sameSite:   o.SameSite,
	}
	if !validCookieName(c.name) {
		r.fail(field+".Name", envPrefix+"NAME", "must be a valid cookie name, got %q", c.name)
	}
	if !strings.HasPrefix(c.path, "/") {
		r.fail(field+".Path", envPrefix+"PATH", "must start with /, got %q", c.path)
	}
	if c.sameSite == 0 {
		switch s := r.str("", envPrefix+"SAME_SITE", "lax"); s {
		case "lax":
			c.sameSite = http.SameSiteLaxMode
		case "strict":
			c.sameSite = http.SameSiteStrictMode
		case "none":
			c.sameSite = http.SameSiteNoneMode
		default:
			r.fail(field+".SameSite", envPrefix+"SAME_SITE", "must be one of strict, lax, none, got %q", s)
		}
	}
	if secureDefault && !c.secure {
		r.fail(field+".Secure", envPrefix+"SECURE", "Cookie must be set to secure when app url protocol is https.")
	}
	if c.sameSite == http.SameSiteNoneMode && !c.secure {
		r.fail(field+".SameSite", envPrefix+"SAME_SITE", "SameSite=None requires a Secure cookie (an https AppURL)")
	}
	return c
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}
