package monocloudtest

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
)

// User is a user who can sign in at a Provider run by hand: see
// [Config.Users].
//
// The sign-in page lists the users by name and groups (their "name" and
// "groups" claims) and offers a field for any other subject. Choosing a
// user, or typing a subject, submits the authorization request again
// (OpenID Connect allows POST) with the subject in the "user" form field,
// and the user is signed in: a typed subject gets a "name" claim equal to
// it and no other claim.
type User struct {
	// Subject is the user's sub claim. It must not be empty.
	Subject string
	// Claims are the user's other claims, as in [Config.Claims].
	Claims map[string]any
}

// userField is the form field of the sign-in page naming the chosen
// subject.
const userField = "user"

// signInPage is the page of the authorization endpoint when Config.Users is
// set. It posts the authorization request back with the chosen user.
var signInPage = template.Must(template.New("sign_in").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
main { max-width: 26rem; margin: 4rem auto; background: #fff; border-radius: 8px; padding: 2rem; box-shadow: 0 1px 4px #0002; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
p { color: #5a6172; margin: 0 0 1.5rem; }
button { display: block; width: 100%; text-align: left; padding: .6rem .9rem; margin: 0 0 .5rem; border: 1px solid #d0d4dc; border-radius: 6px; background: #fff; font: inherit; cursor: pointer; }
button:hover { border-color: #3d63dd; }
small { color: #5a6172; }
label { display: block; margin: 1.5rem 0 .25rem; }
input[type=text] { box-sizing: border-box; width: 100%; padding: .5rem; border: 1px solid #d0d4dc; border-radius: 6px; font: inherit; }
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>to {{.Client}}, as one of the development users.</p>
<form method="post" action="{{.Action}}">
{{- range $name, $values := .Fields}}{{range $values}}
<input type="hidden" name="{{$name}}" value="{{.}}">
{{- end}}{{end}}
{{- range .Users}}
<button type="submit" name="user" value="{{.Subject}}">{{or (index .Claims "name") .Subject}}{{with index .Claims "groups"}} <small>{{.}}</small>{{end}}</button>
{{- end}}
</form>
<form method="post" action="{{.Action}}">
{{- range $name, $values := .Fields}}{{range $values}}
<input type="hidden" name="{{$name}}" value="{{.}}">
{{- end}}{{end}}
<label for="user">Another user (subject)</label>
<input type="text" id="user" name="user" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`))

// writeSignInPage serves the sign-in page for the authorization request
// params, whose redirect_uri checkClient accepted.
func (p *Provider) writeSignInPage(w http.ResponseWriter, params url.Values) {
	fields := cloneValues(params)
	fields.Del("request_uri") // a pushed request is used once: post its parameters
	redirect, _ := url.Parse(params.Get("redirect_uri"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		Client, Action string
		Fields         url.Values
		Users          []User
	}{redirect.Host, p.Issuer() + authorizePath, fields, p.cfg.Users}
	// Executing a parsed template fails only when writing to w does: nothing
	// to do then.
	_ = signInPage.Execute(w, data)
}

// signingInUser returns the user an authorization request signs in: the
// configured one, or with Config.Users the one chosen on the sign-in page,
// and false if the page must be shown first.
func (p *Provider) signingInUser(chosen string) (User, bool) {
	if len(p.cfg.Users) == 0 {
		return p.configuredUser(), true
	}
	if chosen == "" {
		return User{}, false
	}
	if i := slices.IndexFunc(p.cfg.Users, func(u User) bool { return u.Subject == chosen }); i >= 0 {
		return p.cfg.Users[i], true
	}
	return User{Subject: chosen, Claims: map[string]any{"name": chosen}}, true
}
