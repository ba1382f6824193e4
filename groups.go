package monocloud

// GroupCheck requires the signed-in user to be in groups. It is the group
// requirement of a ProtectedRoute, of ProtectPage and ProtectAPI, and of
// IsUserInGroup.
type GroupCheck struct {
	// Groups are the groups required: any one of them, or all with
	// MatchAll. None requires no group, only a session.
	Groups []string
	// Claim is the user claim that holds the user's groups; default
	// Options.GroupsClaim.
	Claim string
	// MatchAll requires every group of Groups instead of any one.
	MatchAll bool
}

// inGroup reports whether the user of session cookie sc passes g. It
// decodes the user claims only when g names groups.
func (c *Client) inGroup(sc *sessionCookie, g GroupCheck) bool {
	if len(g.Groups) == 0 {
		return true
	}
	claim := g.Claim
	if claim == "" {
		claim = c.cfg.opts.GroupsClaim
	}
	return inGroups(sc.userClaims(), claim, g.Groups, g.MatchAll)
}

// inGroups reports whether user's groups claim holds any of groups (all of
// them with matchAll). No groups to check means true; a claim that is not a
// non-empty JSON array means false. A group matches an expected value when
// it is a string equal to it, or an object whose "id" or "name" equals it;
// comparison is exact (case-sensitive, no trimming).
func inGroups(user User, claim string, groups []string, matchAll bool) bool {
	if len(groups) == 0 {
		return true
	}
	have, ok := user[claim].([]any)
	if !ok || len(have) == 0 {
		return false
	}
	for _, want := range groups {
		found := hasGroup(have, want)
		if found && !matchAll {
			return true
		}
		if !found && matchAll {
			return false
		}
	}
	return matchAll
}

func hasGroup(have []any, want string) bool {
	for _, g := range have {
		switch g := g.(type) {
		case string:
			if g == want {
				return true
			}
		case map[string]any:
			if id, _ := g["id"].(string); id == want {
				return true
			}
			if name, _ := g["name"].(string); name == want {
				return true
			}
		}
	}
	return false
}
