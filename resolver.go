package monocloud

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/monocloud/auth-go/internal/settings"
)

// resolver reads the fields of Options (see settings.Reader) and checks
// them, collecting every problem.
type resolver struct{ *settings.Reader }

// newResolver returns a resolver that reads variables with lookup:
// os.LookupEnv, or noEnvironment.
func newResolver(lookup func(name string) (string, bool)) *resolver {
	return &resolver{settings.NewReader(lookup)}
}

// noEnvironment is the lookup of Options.IgnoreEnvironment: every variable
// is unset.
func noEnvironment(string) (string, bool) { return "", false }

// validationErrors returns the problems found, each as a *ValidationError.
func (r *resolver) validationErrors() []error {
	var errs []error
	for _, p := range r.Problems() {
		errs = append(errs, &ValidationError{Field: p.Field, EnvVar: p.Variable, Message: p.Message})
	}
	return errs
}

// cookieNamesCollide reports whether cookies named a and b, or a.<x> and
// b.<y>, may have the same name.
func cookieNamesCollide(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

func (r *resolver) appURL(v string) *url.URL {
	const field, env = "AppURL", "MONOCLOUD_AUTH_APP_URL"
	if v == "" {
		r.Fail(field, env, "is required")
		return nil
	}
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(v), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		r.Fail(field, env, "must be an absolute http(s) URL without query or fragment, got %q", v)
		return nil
	}
	return u
}

func (r *resolver) route(v, field, env, def string) string {
	v = strings.TrimSpace(r.String(v, env, def))
	if u, err := url.Parse(v); err != nil || u.Scheme != "" || u.Host != "" {
		r.Fail(field, env, "must be a valid relative uri, got %q", v)
		return def
	}
	if !strings.HasPrefix(v, "/") {
		v = "/" + v
	}
	if len(v) > 1 {
		v = strings.TrimSuffix(v, "/")
	}
	if u, err := url.Parse(v); err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || strings.HasPrefix(v, "//") {
		r.Fail(field, env, "must be a valid relative uri, got %q", v)
	}
	return v
}

func (r *resolver) scopes(v string) string {
	const field, env = "DefaultAuthParams.Scopes", "MONOCLOUD_AUTH_SCOPES"
	s := joinFields(v)
	switch {
	case s == "":
		r.Fail(field, env, "Scopes must be a space-separated string")
	case !slices.Contains(strings.Fields(s), "openid"):
		r.Fail(field, env, "Scope must contain openid")
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
			r.Fail(field, env, "Invalid resource %q: Resource must be a valid URL without query or hash parameters", item)
		}
	}
	if joinFields(v) == "" {
		r.Fail(field, env, "Resource must not be empty")
	}
	return joinFields(v)
}

func validResource(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(s, "#")
}

func (r *resolver) cookie(o CookieOptions, field, envPrefix, defName string, secureDefault, persistentDefault bool) cookieConfig {
	c := cookieConfig{
		name:       r.String(o.Name, envPrefix+"NAME", defName),
		path:       r.String(o.Path, envPrefix+"PATH", "/"),
		domain:     r.String(o.Domain, envPrefix+"DOMAIN", ""),
		httpOnly:   r.Bool(o.HTTPOnly, field+".HTTPOnly", envPrefix+"HTTP_ONLY", true),
		secure:     r.Bool(o.Secure, field+".Secure", envPrefix+"SECURE", secureDefault),
		persistent: r.Bool(o.Persistent, field+".Persistent", envPrefix+"PERSISTENT", persistentDefault),
		sameSite:   o.SameSite,
	}
	if !validCookieName(c.name) {
		r.Fail(field+".Name", envPrefix+"NAME", "must be a valid cookie name, got %q", c.name)
	}
	if !strings.HasPrefix(c.path, "/") {
		r.Fail(field+".Path", envPrefix+"PATH", "must start with /, got %q", c.path)
	}
	if c.sameSite == 0 {
		switch s := r.String("", envPrefix+"SAME_SITE", "lax"); s {
		case "lax":
			c.sameSite = http.SameSiteLaxMode
		case "strict":
			c.sameSite = http.SameSiteStrictMode
		case "none":
			c.sameSite = http.SameSiteNoneMode
		default:
			r.Fail(field+".SameSite", envPrefix+"SAME_SITE", "must be one of strict, lax, none, got %q", s)
		}
	}
	if secureDefault && !c.secure {
		r.Fail(field+".Secure", envPrefix+"SECURE", "Cookie must be set to secure when app url protocol is https.")
	}
	if c.sameSite == http.SameSiteNoneMode && !c.secure {
		r.Fail(field+".SameSite", envPrefix+"SAME_SITE", "SameSite=None requires a Secure cookie (an https AppURL)")
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
