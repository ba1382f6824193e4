package monocloud

import (
	"html/template"
	"net/http"
	"strings"
)

// errorPage is the default answer of a failed auth route or a denied page:
// a short explanation and the ways forward, built from the app's own
// routes. It holds no error text: details go to the log.
type errorPage struct {
	Status  int
	Title   string
	Message string
	Links   []pageLink
}

// pageLink is a way forward from an error page.
type pageLink struct {
	Label string
	URL   string
}

// errorPageTemplate renders an errorPage as a self-contained HTML page:
// inline CSS, no external assets, every value escaped.
var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1f2328;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:28rem;margin:1rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{margin:0 0 .5rem;font-size:1.4rem}
.status{margin:0;color:#656d76;font-size:.9rem}
nav{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.5rem}
a{padding:.5rem 1rem;border-radius:8px;background:#2f5bea;color:#fff;text-decoration:none}
a.secondary{background:#eef1f6;color:#1f2328}
</style>
</head>
<body>
<main>
<p class="status">Error {{.Status}}</p>
<h1>{{.Title}}</h1>
<p id="message">{{.Message}}</p>
<nav>{{range $i, $l := .Links}}<a{{if $i}} class="secondary"{{end}} href="{{$l.URL}}">{{$l.Label}}</a>{{end}}</nav>
</main>
</body>
</html>
`))

// errorPage returns the page that answers r, a request of route rt, with
// status.
func (c *Client) errorPage(r *http.Request, rt route, status int) errorPage {
	home := pageLink{"Home", c.cfg.appRoot}
	signIn := pageLink{"Sign in again", c.appURL(c.cfg.opts.Routes.SignIn)}
	retry := signIn // a callback's state is used up: only a new sign-in helps
	if !rt.callback && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		retry = pageLink{"Try again", c.appURL(c.returnPath(r))}
	}
	p := errorPage{Status: status}
	switch status {
	case http.StatusBadRequest:
		p.Title = "Sign-in could not be completed"
		p.Message = "The request was not valid: the sign-in may have expired, been used already, been cancelled, or started in another browser."
		p.Links = []pageLink{signIn, home}
	case http.StatusBadGateway:
		p.Title = "The sign-in service answered with an error"
		p.Message = "The application could not use the sign-in service's answer. The cause is in the application's log."
		p.Links = []pageLink{retry, home}
	case http.StatusServiceUnavailable:
		p.Title = "Temporarily unavailable"
		p.Message = "The sign-in service or the session store cannot be reached right now. Try again in a few seconds."
		p.Links = []pageLink{retry, home}
	case http.StatusGatewayTimeout:
		p.Title = "The sign-in service did not answer in time"
		p.Message = "Try again in a few seconds."
		p.Links = []pageLink{retry, home}
	default:
		p.Title = "Something went wrong"
		p.Message = "The application could not complete the request. The cause is in the application's log."
		p.Links = []pageLink{home}
	}
	return p
}

// forbiddenPage returns the page of a signed-in user who lacks a group the
// page requires.
func (c *Client) forbiddenPage() errorPage {
	return errorPage{
		Status:  http.StatusForbidden,
		Title:   "Access denied",
		Message: "Your account does not have access to this page. Sign out to use another account.",
		Links:   []pageLink{{"Sign out", c.appURL(c.cfg.opts.Routes.SignOut)}, {"Home", c.cfg.appRoot}},
	}
}

// answer is the JSON form of p, for a client that asked for JSON.
func (p errorPage) answer() map[string]string {
	return map[string]string{
		"error":   strings.ReplaceAll(strings.ToLower(http.StatusText(p.Status)), " ", "_"),
		"message": p.Message,
	}
}

// write writes p as an HTML page (see writeHTML).
func (p errorPage) write(w http.ResponseWriter) {
	writeHTML(w, p.Status, errorPageTemplate, p)
}
