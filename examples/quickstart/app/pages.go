package app

import "html/template"

// pages are the application's HTML pages. html/template escapes every
// value for its context: claims and tokens cannot inject markup. "top"
// takes whether the visitor is signed in, and then shows the sign-out link.
var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>auth-go quickstart</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
nav a { margin-right: 1rem; }
th { text-align: left; padding-right: 1rem; vertical-align: top; }
td { word-break: break-all; }
</style>
</head>
<body>
<nav><a href="/">Home</a><a href="/protected">Protected</a><a href="/admin">Admin</a><a href="/tokens">Tokens</a><a href="/api/tokens">/api/tokens</a>
{{- if .}}<a id="signout" href="/api/auth/signout">Sign out</a>{{end}}</nav>
{{end}}

{{define "bottom"}}</body>
</html>
{{end}}

{{define "home"}}{{template "top" .SignedIn}}
<h1>auth-go quickstart</h1>
{{if .SignedIn}}
<p id="status">Signed in as <strong id="user">{{.Name}}</strong>.</p>
{{else}}
<p id="status">You are signed out.</p>
<p><a id="signin" href="{{.SignInURL}}">Sign in</a></p>
{{end}}
{{template "bottom"}}{{end}}

{{define "protected"}}{{template "top" true}}
<h1>Hello, <span id="user">{{.Name}}</span></h1>
<p>This page is protected by the auth middleware.</p>
{{template "groups" .Groups}}
<p>Your claims:</p>
<table id="claims">
{{range .Claims}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{template "bottom"}}{{end}}

{{define "groups"}}<h2>Groups</h2>
{{if .}}<ul id="groups">
{{range .}}<li>{{.}}</li>
{{end}}</ul>{{else}}<p id="groups">You are in no group.</p>{{end}}
{{end}}

{{define "admin"}}{{template "top" true}}
<h1>Admin</h1>
<p id="admin">Welcome, <span id="user">{{.Name}}</span>. Only members of the admin group see this page.</p>
{{template "groups" .Groups}}
{{template "bottom"}}{{end}}

{{define "forbidden"}}{{template "top" true}}
<h1>Forbidden</h1>
<p id="forbidden"><span id="user">{{.Name}}</span>, this page is only for members of the {{.Group}} group.</p>
{{template "bottom"}}{{end}}

{{define "tokens"}}{{template "top" true}}
<h1>Tokens</h1>
<table>
<tr><th>Expired</th><td id="expired">{{.Tokens.IsExpired}}</td></tr>
<tr><th>Scopes</th><td id="scopes">{{.Tokens.Scopes}}</td></tr>
<tr><th>Resource</th><td id="resource">{{with .Tokens.Resource}}{{.}}{{else}}(default){{end}}</td></tr>
<tr><th>Expires</th><td id="expires">{{.Expires}} (in {{.ExpiresIn}})</td></tr>
<tr><th>Access token</th><td>{{len .Tokens.AccessToken}} characters, fingerprint <code id="fingerprint">{{.Fingerprint}}</code></td></tr>
<tr><th>Refresh token</th><td id="has-refresh-token">{{if .Tokens.RefreshToken}}present{{else}}none{{end}}</td></tr>
</table>
<p><a id="refresh" href="{{.RefreshURL}}">Force refresh</a></p>
<h2>APIs</h2>
<ul id="apis">
{{range .APIs}}<li><a href="{{.URL}}">{{with .Resource}}{{.}}{{else}}Default token{{end}}</a>{{with .Scopes}} ({{.}}){{end}}</li>
{{end}}</ul>
{{template "bottom"}}{{end}}

{{define "error"}}{{template "top" true}}
<h1>Tokens unavailable</h1>
<p id="error">{{.Message}}</p>
{{with .SignInURL}}<p><a href="{{.}}">Sign in again</a></p>{{end}}
{{template "bottom"}}{{end}}
`))
