package monocloud

import (
	"encoding/json"
	"fmt"
)

// User is the signed-in user's claims, as decoded from JSON: strings,
// float64 numbers, bools, []any and map[string]any. Decode turns them into
// a struct of the application's; the methods read the common ones.
type User map[string]any

// Decode stores the claims in the value v points to, by a JSON round trip
// (as go-oidc's IDToken.Claims): v is typically a pointer to a struct with
// json tags. A claim that does not fit its field fails with the
// encoding/json error, wrapped.
func (u User) Decode(v any) error {
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("monocloud: decode user claims: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("monocloud: decode user claims: %w", err)
	}
	return nil
}

// Subject returns the sub claim: the user's ID at the provider.
func (u User) Subject() string { return u.str("sub") }

// Email returns the email claim, "" when absent. Whether the provider
// verified it is the email_verified claim.
func (u User) Email() string { return u.str("email") }

// Name returns the name claim, "" when absent.
func (u User) Name() string { return u.str("name") }

// Groups returns the groups in claim, the client's Options.GroupsClaim
// ("groups" unless configured otherwise): each group given as a string, and
// the name (else the id) of each group given as an object, as MonoCloud
// gives them; nil when the claim holds none. To check membership,
// which matches an object's id too, use IsUserInGroup.
func (u User) Groups(claim string) []string {
	list, _ := u[claim].([]any)
	var groups []string
	for _, g := range list {
		switch g := g.(type) {
		case string:
			groups = append(groups, g)
		case map[string]any:
			name, _ := g["name"].(string)
			if name == "" {
				name, _ = g["id"].(string)
			}
			if name != "" {
				groups = append(groups, name)
			}
		}
	}
	return groups
}

// str returns the claim name when it is a string, else "".
func (u User) str(name string) string {
	s, _ := u[name].(string)
	return s
}
