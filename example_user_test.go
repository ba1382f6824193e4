package monocloud_test

import (
	"fmt"
	"log"

	monocloud "github.com/monocloud/auth-go"
)

// A handler reads the claims it needs into its own struct with Decode, and
// the common ones with the accessors. In a handler, the User comes from
// Session: s, err := client.Session(r.Context()).
func ExampleUser_Decode() {
	user := monocloud.User{ // as a session holds it
		"sub":            "u-1",
		"name":           "Ada Lovelace",
		"email":          "ada@example.com",
		"email_verified": true,
		"groups":         []any{"staff", map[string]any{"id": "g-7", "name": "admin"}},
		"org":            map[string]any{"id": "o-1", "plan": "team"},
	}

	var claims struct {
		EmailVerified bool `json:"email_verified"`
		Org           struct {
			ID   string `json:"id"`
			Plan string `json:"plan"`
		} `json:"org"`
	}
	if err := user.Decode(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.Subject(), user.Name(), user.Email(), claims.EmailVerified)
	fmt.Println(claims.Org.ID, claims.Org.Plan)
	fmt.Println(user.Groups("groups")) // the claim of Options.GroupsClaim
	// Output:
	// u-1 Ada Lovelace ada@example.com true
	// o-1 team
	// [staff admin]
}
