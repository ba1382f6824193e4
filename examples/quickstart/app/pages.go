package app

import "html/template"

// pages are the application's HTML pages, styled inline: they load nothing
// from elsewhere. html/template escapes every value for its context:
// claims and tokens cannot inject markup. Every page's data embeds layout,
// which "top" and "bottom" show.
var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · auth-go quickstart</title>
<style>
:root { --ink: #1f2933; --muted: #52606d; --line: #e4e7eb; --bg: #f5f7fa; --accent: #3b5bdb; --accent-bg: #edf2ff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
header { background: #fff; border-bottom: 1px solid var(--line); }
.bar, main, footer { max-width: 62rem; margin: 0 auto; padding-left: 1.25rem; padding-right: 1.25rem; }
.bar { display: flex; align-items: center; gap: 1.25rem; flex-wrap: wrap; padding-top: .7rem; padding-bottom: .7rem; }
.brand { font-weight: 700; color: var(--ink); text-decoration: none; white-space: nowrap; }
.brand span { color: var(--accent); }
nav { display: flex; gap: .2rem; flex: 1; flex-wrap: wrap; }
nav a { color: var(--muted); text-decoration: none; padding: .3rem .65rem; border-radius: .4rem; }
nav a:hover { background: var(--bg); color: var(--ink); }
nav a.active { background: var(--accent-bg); color: var(--accent); font-weight: 600; }
.who { display: flex; align-items: center; gap: .75rem; color: var(--muted); font-size: .9rem; }
.button { display: inline-block; padding: .45rem .95rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; text-decoration: none; font-weight: 600; font-size: .95rem; }
.button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
.button:hover { filter: brightness(.95); }
main { padding-top: 2rem; padding-bottom: 1rem; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 .4rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
.lead { color: var(--muted); margin: 0 0 1.5rem; max-width: 44rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: .6rem; padding: 1.2rem 1.4rem; margin: 0 0 1.25rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 1rem; margin-bottom: 1.25rem; }
.grid a.card { margin: 0; text-decoration: none; color: inherit; }
.grid a.card:hover { border-color: var(--accent); }
.grid a.card strong { color: var(--accent); }
.grid a.card p { margin: .3rem 0 0; color: var(--muted); font-size: .92rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child th, tr:last-child td { border-bottom: 0; }
th { width: 12rem; color: var(--muted); font-weight: 600; font-size: .9rem; }
td { overflow-wrap: anywhere; }
table.list th { width: auto; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86rem; }
code { background: var(--bg); padding: .05rem .3rem; border-radius: .25rem; }
pre { background: #1f2933; color: #e4e7eb; padding: .9rem 1rem; border-radius: .5rem; overflow: auto; margin: .5rem 0 0; }
ul#groups { list-style: none; padding: 0; margin: 0; }
#groups li, .tag { display: inline-block; padding: .05rem .6rem; margin: 0 .35rem .35rem 0; border-radius: 1rem; background: var(--accent-bg); color: var(--accent); font-size: .88rem; }
.tag { margin-bottom: 0; vertical-align: baseline; }
#apis { margin: 0; padding-left: 1.2rem; }
#apis li { margin: .35rem 0; }
.notice { padding: .75rem 1rem; border-radius: .5rem; margin: 0 0 1.25rem; border: 1px solid; }
.notice.ok { background: #ebfbee; border-color: #b2f2bb; color: #2b6a3a; }
.notice.warn { background: #fff9db; border-color: #ffe066; color: #5c4813; }
.notice.bad { background: #fff5f5; border-color: #ffc9c9; color: #a61e1e; }
.actions { display: flex; gap: .6rem; flex-wrap: wrap; align-items: center; margin-top: 1rem; }
.muted { color: var(--muted); font-size: .92rem; }
footer { color: var(--muted); font-size: .88rem; padding-top: 1rem; padding-bottom: 2rem; }
footer p { border-top: 1px solid var(--line); padding-top: 1rem; margin: 0; }
</style>
</head>
<body>
<header><div class="bar">
<a class="brand" href="/">auth-go <span>quickstart</span></a>
<nav>{{range .Links}}<a href="{{.Path}}"{{if .Active}} class="active"{{end}}>{{.Label}}</a>{{end}}</nav>
<div class="who">{{if .SignedIn}}<span>Signed in as <strong>{{.Name}}</strong></span><a id="signout" href="/api/auth/signout" class="button secondary">Sign out</a>{{else}}<span>Signed out</span>{{end}}</div>
</div></header>
<main>
{{end}}

{{define "bottom"}}</main>
<footer>{{if .SignedIn}}<p id="signout-help">{{if .Federated -}}
<strong>Sign out</strong> ends your session here, then asks the provider to end its session too.
If you answer “No” there, or <a id="signout-app-only" href="{{.AppOnly}}">sign out of this app only</a>,
the provider still knows you: the next protected page signs you back in silently, without asking for a password.
{{- else -}}
<strong>Sign out</strong> ends your session in this app only. The provider still knows you:
the next protected page signs you back in silently, without asking for a password.
To end the provider’s session too, <a id="signout-everywhere" href="{{.Everywhere}}">sign out everywhere</a>.
{{- end}}</p>{{else}}<p>auth-go quickstart: every page is served by <code>examples/quickstart</code>.</p>{{end}}</footer>
</body>
</html>
{{end}}

{{define "home"}}{{template "top" .}}
<h1>auth-go quickstart</h1>
{{if .SignedIn}}
<p class="lead" id="status">Signed in as <strong id="user">{{.Name}}</strong>. Try the pages below.</p>
{{else}}
<p class="lead" id="status">You are signed out. Sign in with any login and password at the demo’s provider (login <code>admin</code> is in the admin group).</p>
<p><a id="signin" class="button" href="{{.SignInURL}}">Sign in</a></p>
{{end}}
<div class="grid">
<a class="card" href="/protected"><strong>Protected</strong><p>Needs sign-in: your claims and groups.</p></a>
<a class="card" href="/admin"><strong>Admin</strong><p>Only for the admin group; others get a 403 page.</p></a>
<a class="card" href="/tokens"><strong>Tokens</strong><p>Your access token from GetTokens, a forced refresh, a token per API.</p></a>
{{if .HasAPI}}<a class="card" href="/orders"><strong>Orders API</strong><p>The app calls its own API with your access token for it.</p></a>{{end}}
</div>
{{template "bottom" .}}{{end}}

{{define "protected"}}{{template "top" .}}
<h1>Hello, <span id="user">{{.Name}}</span></h1>
<p class="lead">The auth middleware protects this page: visitors who are not signed in go to the provider first, and come back here.</p>
<div class="card">{{template "groups" .Groups}}</div>
<div class="card"><h2>Your claims</h2>
<table id="claims">
{{range .Claims}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table></div>
{{template "bottom" .}}{{end}}

{{define "groups"}}<h2>Groups</h2>
{{if .}}<ul id="groups">
{{range .}}<li>{{.}}</li>
{{end}}</ul>{{else}}<p id="groups">You are in no group.</p>{{end}}
{{end}}

{{define "admin"}}{{template "top" .}}
<h1>Admin</h1>
<p class="lead" id="admin">Welcome, <span id="user">{{.Name}}</span>. Only members of the admin group see this page: <code>ProtectPage</code> checks the groups claim.</p>
<div class="card">{{template "groups" .Groups}}</div>
{{template "bottom" .}}{{end}}

{{define "forbidden"}}{{template "top" .}}
<h1>Forbidden</h1>
<div class="notice bad"><p id="forbidden" style="margin:0"><span id="user">{{.Name}}</span>, this page is only for members of the {{.Group}} group.</p></div>
<p class="muted">To see it, <a href="{{.Everywhere}}">sign out everywhere</a> and sign in again with the login <code>admin</code>.</p>
{{template "bottom" .}}{{end}}

{{define "tokens"}}{{template "top" .}}
<h1>Tokens</h1>
<p class="lead">What <code>GetTokens</code> returns for your session: the access token is refreshed on its own when it is about to expire.</p>
{{with .RefreshedAt}}<div class="notice ok" id="refreshed">Refreshed at {{.}} — {{if $.Expiry.Known}}the new token expires at {{$.Expiry.At}} (in {{$.Expiry.In}}){{else}}the new token’s expiry is unknown{{end}}.</div>{{end}}
<div class="card">
<table>
<tr><th>Resource</th><td id="resource">{{with .Tokens.Resource}}{{.}}{{else}}(default){{end}}</td></tr>
<tr><th>Scopes</th><td id="scopes">{{.Tokens.Scopes}}</td></tr>
<tr><th>Expires</th><td id="expires">{{if .Expiry.Known}}<time datetime="{{.Expiry.ISO}}">{{.Expiry.At}}</time> (in {{.Expiry.In}}){{else}}unknown{{end}}</td></tr>
<tr><th>Expired</th><td id="expired">{{.Tokens.IsExpired}}</td></tr>
<tr><th>Access token</th><td>{{len .Tokens.AccessToken}} characters, fingerprint <code id="fingerprint">{{.Fingerprint}}</code></td></tr>
<tr><th>Refresh token</th><td id="has-refresh-token">{{if .Tokens.RefreshToken}}present{{else}}none{{end}}</td></tr>
</table>
{{if not .Expiry.Known}}<p class="muted">The provider did not say when this token expires (no <code>expires_in</code>, and the token is no JWT): GetTokens uses it until an API refuses it, then force a refresh.</p>{{end}}
<div class="actions"><a id="refresh" class="button" href="{{.RefreshURL}}">Force refresh</a><a class="button secondary" href="/api/tokens">As JSON (/api/tokens)</a></div>
</div>
<div class="card"><h2>Tokens per API</h2>
<ul id="apis">
{{range .APIs}}<li><a href="{{.URL}}">{{with .Resource}}{{.}}{{else}}Default token{{end}}</a>{{with .Scopes}} <span class="tag">{{.}}</span>{{end}}</li>
{{end}}</ul></div>
{{template "bottom" .}}{{end}}

{{define "orders"}}{{template "top" .}}
<h1>Orders API</h1>
<p class="lead">This page asked <code>GetTokens</code> for your access token for <code>{{.Resource}}</code>, then called the app’s own API with it, server-side. The API takes no cookie: it checks the token with the <code>backend</code> package.</p>
<div class="card"><h2>The request</h2>
<pre id="api-request">GET {{.Call.URL}}
Authorization: Bearer &lt;{{len .Tokens.AccessToken}} characters, fingerprint {{.Fingerprint}}&gt;</pre>
<table style="margin-top:.75rem">
<tr><th>Token for</th><td id="api-resource">{{.Tokens.Resource}}</td></tr>
<tr><th>Scopes</th><td>{{.Tokens.Scopes}}</td></tr>
<tr><th>Expires</th><td>{{if .Expiry.Known}}<time datetime="{{.Expiry.ISO}}">{{.Expiry.At}}</time> (in {{.Expiry.In}}){{else}}unknown{{end}}</td></tr>
</table></div>
<div class="card"><h2>The API’s answer: <span id="api-status">{{with .Call.Status}}{{.}}{{else}}no answer{{end}}</span></h2>
{{with .Call.Answer}}
<p>The API read the token of <strong id="api-user">{{.Subject}}</strong>, with the scopes {{range .Scopes}}<span class="tag">{{.}}</span>{{end}}, and answered their orders:</p>
<table class="list" id="orders"><tr><th>Order</th><th>Item</th><th>Quantity</th></tr>
{{range .Orders}}<tr><td>{{.ID}}</td><td>{{.Item}}</td><td>{{.Quantity}}</td></tr>
{{end}}</table>
{{else}}
<div class="notice bad" id="api-error">{{with .Call.Err}}{{.}}{{else}}The API refused the token.{{end}}{{with .Call.Challenge}}<br><code>WWW-Authenticate: {{.}}</code>{{end}}</div>
{{end}}
{{with .Call.Body}}<pre id="api-body">{{.}}</pre>{{end}}
</div>
<p class="muted">Without a token the API answers 401: try <code>curl -i {{.Call.URL}}</code>.</p>
{{template "bottom" .}}{{end}}

{{define "no-api"}}{{template "top" .}}
<h1>Orders API</h1>
<div class="notice warn" id="no-api">This app serves no API. Set <code>EXAMPLE_API_RESOURCE</code> to one of the APIs of <code>EXAMPLE_RESOURCES</code>: the app then serves <code>/api/orders</code> for it, and this page calls it. <code>./scripts/demo.sh</code> does.</div>
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}
<h1>{{.Title}}</h1>
<div class="notice bad"><p id="error" style="margin:0">{{.Message}}</p></div>
{{with .SignInURL}}<p><a class="button" href="{{.}}">Sign in again</a></p>{{end}}
{{template "bottom" .}}{{end}}
`))
