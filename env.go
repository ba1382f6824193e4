package monocloud

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
)

// envPrefix starts the name of every environment variable the Client reads.
const envPrefix = "MONOCLOUD_AUTH_"

// knownEnvVars are the environment variables the Client reads.
var knownEnvVars = []string{
	"MONOCLOUD_AUTH_ALLOW_QUERY_PARAM_OVERRIDES",
	"MONOCLOUD_AUTH_APP_URL",
	"MONOCLOUD_AUTH_BACK_CHANNEL_LOGOUT_URL",
	"MONOCLOUD_AUTH_CALLBACK_URL",
	"MONOCLOUD_AUTH_CLIENT_AUTH_METHOD",
	"MONOCLOUD_AUTH_CLIENT_ID",
	"MONOCLOUD_AUTH_CLIENT_SECRET",
	"MONOCLOUD_AUTH_CLOCK_SKEW",
	"MONOCLOUD_AUTH_CLOCK_TOLERANCE",
	"MONOCLOUD_AUTH_COOKIE_SECRET",
	"MONOCLOUD_AUTH_FEDERATED_SIGNOUT",
	"MONOCLOUD_AUTH_FETCH_USER_INFO",
	"MONOCLOUD_AUTH_FILTERED_ID_TOKEN_CLAIMS",
	"MONOCLOUD_AUTH_GROUPS_CLAIM",
	"MONOCLOUD_AUTH_ID_TOKEN_SIGNING_ALG",
	"MONOCLOUD_AUTH_LOG_LEVEL",
	"MONOCLOUD_AUTH_POST_LOGOUT_REDIRECT_URI",
	"MONOCLOUD_AUTH_PREVIOUS_COOKIE_SECRETS",
	"MONOCLOUD_AUTH_REFETCH_STRICT_PROFILE_SYNC",
	"MONOCLOUD_AUTH_REFETCH_USER_INFO",
	"MONOCLOUD_AUTH_RESOURCE",
	"MONOCLOUD_AUTH_REQUIRE_PROVIDER",
	"MONOCLOUD_AUTH_RESPONSE_TIMEOUT",
	"MONOCLOUD_AUTH_REVOKE_TOKENS_ON_SIGNOUT",
	"MONOCLOUD_AUTH_SCOPES",
	"MONOCLOUD_AUTH_SESSION_COOKIE_DOMAIN",
	"MONOCLOUD_AUTH_SESSION_COOKIE_HTTP_ONLY",
	"MONOCLOUD_AUTH_SESSION_COOKIE_NAME",
	"MONOCLOUD_AUTH_SESSION_COOKIE_PATH",
	"MONOCLOUD_AUTH_SESSION_COOKIE_PERSISTENT",
	"MONOCLOUD_AUTH_SESSION_COOKIE_SAME_SITE",
	"MONOCLOUD_AUTH_SESSION_COOKIE_SECURE",
	"MONOCLOUD_AUTH_SESSION_DURATION",
	"MONOCLOUD_AUTH_SESSION_MAX_DURATION",
	"MONOCLOUD_AUTH_SESSION_SLIDING",
	"MONOCLOUD_AUTH_SIGNIN_URL",
	"MONOCLOUD_AUTH_SIGNOUT_URL",
	"MONOCLOUD_AUTH_STATE_COOKIE_DOMAIN",
	"MONOCLOUD_AUTH_STATE_COOKIE_HTTP_ONLY",
	"MONOCLOUD_AUTH_STATE_COOKIE_NAME",
	"MONOCLOUD_AUTH_STATE_COOKIE_PATH",
	"MONOCLOUD_AUTH_STATE_COOKIE_PERSISTENT",
	"MONOCLOUD_AUTH_STATE_COOKIE_SAME_SITE",
	"MONOCLOUD_AUTH_STATE_COOKIE_SECURE",
	"MONOCLOUD_AUTH_STATE_DURATION",
	"MONOCLOUD_AUTH_STATE_MAX_CONCURRENT",
	"MONOCLOUD_AUTH_TENANT_DOMAIN",
	"MONOCLOUD_AUTH_TRUST_STORE_ID",
	"MONOCLOUD_AUTH_USER_INFO",
	"MONOCLOUD_AUTH_USE_PAR",
	"MONOCLOUD_AUTH_USER_INFO_URL",
}

// unknownEnvVars returns the names in environ (os.Environ's form) that
// start with envPrefix but are not read, each with the known name it is
// likely a misspelling of, if any.
func unknownEnvVars(environ []string) []string {
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(knownEnvVars, name) {
			continue
		}
		if guess := closestEnvVar(name); guess != "" {
			name += " (did you mean " + guess + "?)"
		}
		unknown = append(unknown, name)
	}
	slices.Sort(unknown)
	return unknown
}

// closestEnvVar returns the known variable within edit distance 2 of name,
// the closest one, or "".
func closestEnvVar(name string) string {
	best, bestDistance := "", 3
	for _, known := range knownEnvVars {
		if d := editDistance(name, known); d < bestDistance {
			best, bestDistance = known, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// warnUnknownEnvVars logs one warning listing the MONOCLOUD_AUTH_*
// variables of the environment that the Client does not read.
func warnUnknownEnvVars(logger *slog.Logger) {
	if unknown := unknownEnvVars(os.Environ()); len(unknown) > 0 {
		logger.Warn("monocloud: unknown environment variables ignored", "variables", strings.Join(unknown, ", "))
	}
}

// logger returns Options.Logger, else the default logger at the level of
// MONOCLOUD_AUTH_LOG_LEVEL (debug, info, warn or error) when it is set.
func (r *resolver) logger(configured *slog.Logger) *slog.Logger {
	const env = "MONOCLOUD_AUTH_LOG_LEVEL"
	if configured != nil {
		return configured
	}
	v := strings.TrimSpace(r.String("", env, ""))
	if v == "" {
		return slog.Default()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(v)); err != nil {
		r.Fail("Logger", env, "must be debug, info, warn or error, got %q", v)
		return slog.Default()
	}
	return slog.New(leveledHandler{level: level, Handler: slog.Default().Handler()})
}

// leveledHandler is a Handler that lets through the records at level and
// above, whatever the level of the Handler it wraps.
type leveledHandler struct {
	level slog.Level
	slog.Handler
}

func (h leveledHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h leveledHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return leveledHandler{level: h.level, Handler: h.Handler.WithAttrs(attrs)}
}

func (h leveledHandler) WithGroup(name string) slog.Handler {
	return leveledHandler{level: h.level, Handler: h.Handler.WithGroup(name)}
}
