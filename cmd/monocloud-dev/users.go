package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/monocloud/auth-go/monocloudtest"
)

// defaultUsers are offered when no -user or -users flag names any.
var defaultUsers = []string{"alice", "admin:admin"}

// userFlags collects the values of repeated -user flags.
type userFlags []string

func (f *userFlags) String() string { return strings.Join(*f, " ") }

func (f *userFlags) Set(v string) error {
	if _, err := parseUser(v); err != nil {
		return err
	}
	*f = append(*f, v)
	return nil
}

// parseUser returns the user of a -user value, "name" or
// "name:group,group": its subject and name are name, its email
// name@example.com, and its groups claim lists the groups.
func parseUser(v string) (monocloudtest.User, error) {
	name, groups, hasGroups := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return monocloudtest.User{}, fmt.Errorf("user %q has no name: write name or name:group,group", v)
	}
	claims := map[string]any{"name": name, "email": name + "@example.com"}
	if hasGroups {
		var list []any
		for g := range strings.SplitSeq(groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				list = append(list, g)
			}
		}
		claims["groups"] = list
	}
	return monocloudtest.User{Subject: name, Claims: claims}, nil
}

// readUsers returns the users of a JSON file holding an array of claim
// sets, each with a sub, such as
//
//	[{"sub": "alice", "name": "Alice", "groups": ["editors"]}]
func readUsers(path string) ([]monocloudtest.User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var claimSets []map[string]any
	if err := json.Unmarshal(data, &claimSets); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of claim sets: %w", path, err)
	}
	users := make([]monocloudtest.User, 0, len(claimSets))
	for i, claims := range claimSets {
		sub, _ := claims["sub"].(string)
		if sub == "" {
			return nil, fmt.Errorf("%s: user %d has no sub", path, i+1)
		}
		delete(claims, "sub")
		users = append(users, monocloudtest.User{Subject: sub, Claims: claims})
	}
	if len(users) == 0 {
		return nil, errors.New(path + ": no users")
	}
	return users, nil
}

// users returns the users of the -user flags and the -users file, or the
// default users when both are empty.
func users(flags userFlags, file string) ([]monocloudtest.User, error) {
	var list []monocloudtest.User
	if file != "" {
		fromFile, err := readUsers(file)
		if err != nil {
			return nil, err
		}
		list = fromFile
	}
	if len(flags) == 0 && file == "" {
		flags = defaultUsers
	}
	for _, v := range flags {
		u, err := parseUser(v)
		if err != nil {
			return nil, err
		}
		list = append(list, u)
	}
	return list, nil
}
