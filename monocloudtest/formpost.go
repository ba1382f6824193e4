package monocloudtest

import (
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
)

// formPostPage is the auto-submitting page of the form_post response mode
// (OAuth 2.0 Form Post Response Mode, section 2). parseFormPost reads it
// back.
var formPostPage = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html>
<head><title>Submit this form</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">
{{- range $name, $values := .Fields}}{{range $values}}
<input type="hidden" name="{{$name}}" value="{{.}}">
{{- end}}{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body>
</html>
`))

// Patterns matching the form_post page's form and fields.
var (
	formActionPattern = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formFieldPattern  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// writeFormPost serves a page that makes the browser POST fields to action.
func writeFormPost(w http.ResponseWriter, action string, fields url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		Action string
		Fields url.Values
	}{action, fields}
	// Executing a parsed template fails only when writing to w does: nothing
	// to do then.
	_ = formPostPage.Execute(w, data)
}

// parseFormPost returns the action and fields of a page written by
// writeFormPost.
func parseFormPost(page string) (action string, fields url.Values, err error) {
	m := formActionPattern.FindStringSubmatch(page)
	if m == nil {
		return "", nil, errors.New("no form_post form in the page")
	}
	fields = make(url.Values)
	for _, field := range formFieldPattern.FindAllStringSubmatch(page, -1) {
		fields.Add(html.UnescapeString(field[1]), html.UnescapeString(field[2]))
	}
	return html.UnescapeString(m[1]), fields, nil
}
