package monocloud

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/monocloud/auth-go/internal/wire"
)

// refreshDeltaName is the name the Client's codec authenticates shared
// refreshes under. No cookie can be called so (it holds a space): a shared
// refresh is never taken for a session cookie, nor a cookie for a shared
// refresh.
const refreshDeltaName = "monocloud shared refresh"

// refreshDelta is what a refresh shares with the other instances through
// the Coordinator, which keeps the newest one of each session: what any
// cookie of the session from before it lacks to adopt it. That is the
// refreshed session (its tokens above all) without a lifetime, since the
// adopting instance dates its cookie itself, and without the user claims,
// and the application data, while no refresh of the session has changed
// them, since every cookie of the session then holds them. Once a refresh
// changed them (a userinfo refetch, an ID token with other claims,
// OnSessionCreating), each refresh shares them, so that a cookie from before
// that change adopts them as the newest refresh has them.
type refreshDelta struct {
	key     string
	session *Session // User and Extra nil when kept
	// userKept and extraKept report that no refresh shared so far changed
	// the user claims, and the application data, of the session.
	userKept, extraKept bool
}

// Flags of refreshDelta's first byte.
const (
	deltaUserKept byte = 1 << iota
	deltaExtraKept
)

// newRefreshDelta returns the refresh of session key from base to s, to
// share in place of prev, the newest refresh shared before (nil when none).
func newRefreshDelta(key string, prev *refreshDelta, base, s *Session) *refreshDelta {
	d := &refreshDelta{
		key:       key,
		userKept:  (prev == nil || prev.userKept) && sameMap(base.User, s.User),
		extraKept: (prev == nil || prev.extraKept) && sameMap(base.Extra, s.Extra),
	}
	delta := *s
	if d.userKept {
		delta.User = nil
	}
	if d.extraKept {
		delta.Extra = nil
	}
	d.session = &delta
	return d
}

// sameMap reports whether a and b hold the same JSON-shaped values, as the
// session's encoding writes them.
func sameMap[M ~map[string]any](a, b M) bool {
	var wa, wb wire.Writer
	wa.Map(a)
	wb.Map(b)
	pa, errA := wa.Bytes()
	pb, errB := wb.Bytes()
	return errA == nil && errB == nil && bytes.Equal(pa, pb)
}

// adopt returns base, the session of a cookie from before the refresh, as
// the refresh made it.
func (d *refreshDelta) adopt(base *Session) *Session {
	s := *d.session
	if d.userKept {
		s.User = base.User
	}
	if d.extraKept {
		s.Extra = base.Extra
	}
	return &s
}

// MarshalBinary encodes d as a flags byte followed by the session cookie
// encoding of its key and session (see sessionCookie.MarshalBinary).
func (d *refreshDelta) MarshalBinary() ([]byte, error) {
	var flags byte
	if d.userKept {
		flags |= deltaUserKept
	}
	if d.extraKept {
		flags |= deltaExtraKept
	}
	p, err := (&sessionCookie{Key: d.key, Session: d.session}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append([]byte{flags}, p...), nil
}

// UnmarshalBinary decodes into d what MarshalBinary encoded.
func (d *refreshDelta) UnmarshalBinary(p []byte) error {
	if len(p) == 0 || p[0]&^(deltaUserKept|deltaExtraKept) != 0 {
		return fmt.Errorf("monocloud: decoding a shared refresh: %w", wire.ErrMalformed)
	}
	var sc sessionCookie
	if err := sc.UnmarshalBinary(p[1:]); err != nil {
		return err
	}
	if sc.Session == nil {
		return errors.New("monocloud: a shared refresh without a session")
	}
	flags := p[0]
	*d = refreshDelta{key: sc.Key, userKept: flags&deltaUserKept != 0, extraKept: flags&deltaExtraKept != 0}
	if d.userKept {
		d.session = sc.Session
	} else {
		d.session = sc.withUser().Session
	}
	return nil
}
