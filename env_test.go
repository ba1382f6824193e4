package monocloud

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConfigDurationVariablesAcceptGoDurations: the duration variables
// take "2h" as they take "7200".
func TestConfigDurationVariablesAcceptGoDurations(t *testing.T) {
	setEnv(t, map[string]string{
		"MONOCLOUD_AUTH_SESSION_DURATION":     "2h",
		"MONOCLOUD_AUTH_SESSION_MAX_DURATION": "172800",
		"MONOCLOUD_AUTH_RESPONSE_TIMEOUT":     "15s",
		"MONOCLOUD_AUTH_CLOCK_SKEW":           "30s",
	})
	c, err := resolve(cfgValid())
	if err != nil {
		t.Fatal(err)
	}
	if c.duration != 2*time.Hour || c.maxDuration != 48*time.Hour || c.responseTimeout != 15*time.Second || c.clockSkew != 30*time.Second {
		t.Errorf("duration %v, max %v, timeout %v, skew %v", c.duration, c.maxDuration, c.responseTimeout, c.clockSkew)
	}
}

// TestUnknownEnvVars: misspelled and unknown MONOCLOUD_AUTH_* names are
// listed, with the known name within two edits.
func TestUnknownEnvVars(t *testing.T) {
	got := unknownEnvVars([]string{
		"MONOCLOUD_AUTH_CLIENT_SECRT=x",
		"MONOCLOUD_AUTH_SCOPES=openid",
		"MONOCLOUD_AUTH_FAVOURITE_COLOUR=blue",
		"MONOCLOUD_AUTH_APPURL=http://localhost",
		"PATH=/bin",
	})
	want := []string{
		"MONOCLOUD_AUTH_APPURL (did you mean MONOCLOUD_AUTH_APP_URL?)",
		"MONOCLOUD_AUTH_CLIENT_SECRT (did you mean MONOCLOUD_AUTH_CLIENT_SECRET?)",
		"MONOCLOUD_AUTH_FAVOURITE_COLOUR",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unknownEnvVars = %q, want %q", got, want)
	}
}

// TestResolveWarnsOfUnknownEnvVars: New (through resolve) logs one warning naming them, and with
// IgnoreEnvironment nothing.
func TestResolveWarnsOfUnknownEnvVars(t *testing.T) {
	t.Setenv("MONOCLOUD_AUTH_CLIENT_SECRT", "x")
	t.Setenv("MONOCLOUD_AUTH_SCOPE", "openid")
	for _, ignore := range []bool{false, true} {
		log := &logRecorder{level: slog.LevelWarn}
		o := cfgValid()
		o.Logger, o.IgnoreEnvironment = slog.New(log), ignore
		if _, err := resolve(o); err != nil {
			t.Fatal(err)
		}
		var warnings []string
		log.mu.Lock()
		for _, r := range log.recs {
			if r.Message == "monocloud: unknown environment variables ignored" {
				warnings = append(warnings, attrsOf(r)["variables"])
			}
		}
		log.mu.Unlock()
		switch {
		case ignore && len(warnings) != 0:
			t.Errorf("IgnoreEnvironment: warnings %q, want none", warnings)
		case !ignore && (len(warnings) != 1 || !strings.Contains(warnings[0], "MONOCLOUD_AUTH_CLIENT_SECRT (did you mean MONOCLOUD_AUTH_CLIENT_SECRET?)") || !strings.Contains(warnings[0], "MONOCLOUD_AUTH_SCOPE (did you mean MONOCLOUD_AUTH_SCOPES?)")):
			t.Errorf("warnings %q, want one naming both variables", warnings)
		}
	}
}

// TestKnownEnvVarsCoverTheSource: every MONOCLOUD_AUTH_* name the package
// spells out is in knownEnvVars, so that reading a new variable without
// listing it fails here rather than warning users who set it.
func TestKnownEnvVarsCoverTheSource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`"(MONOCLOUD_AUTH_[A-Z_]*[A-Z])"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(knownEnvVars, m[1]) {
				t.Errorf("%s reads %s, which knownEnvVars lacks", f, m[1])
			}
		}
	}
}

// TestLogLevelVariable: MONOCLOUD_AUTH_LOG_LEVEL sets the default logger's
// level, a bad value is refused naming the levels, and Options.Logger wins.
func TestLogLevelVariable(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MONOCLOUD_AUTH_LOG_LEVEL", "debug")
	c, err := resolve(cfgValid())
	if err != nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		t.Fatalf("debug: %v, Debug enabled %v", err, err == nil && c.logger.Enabled(ctx, slog.LevelDebug))
	}
	t.Setenv("MONOCLOUD_AUTH_LOG_LEVEL", "error")
	if c, err = resolve(cfgValid()); err != nil || c.logger.Enabled(ctx, slog.LevelWarn) || !c.logger.Enabled(ctx, slog.LevelError) {
		t.Fatalf("error: %v", err)
	}
	own := slog.New(slog.DiscardHandler)
	o := cfgValid()
	o.Logger = own
	if c, err = resolve(o); err != nil || c.logger != own {
		t.Errorf("Options.Logger not used: %v", err)
	}
	t.Setenv("MONOCLOUD_AUTH_LOG_LEVEL", "loud")
	_, err = resolve(cfgValid())
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.EnvVar != "MONOCLOUD_AUTH_LOG_LEVEL" || !strings.Contains(ve.Message, "debug, info, warn or error") {
		t.Errorf("loud: %v", err)
	}
}
