package realop

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const maxSteps = 30

// SignIn performs the user's part of a sign-in, the way a browser would but
// without one.
//
// client must have a cookie jar (it carries the RP's and the provider's
// cookies; they do not clash: the provider's are named op_*). SignIn uses a
// copy of client that never follows redirects itself.
//
// Starting with GET authorizeURL (an RP route that redirects to the
// provider, or the provider's authorization URL itself) it follows redirects
// one by one, fills in and submits the provider's devInteractions login form
// (login = login, any password) and the consent form if one is shown, and
// submits form_post pages. It stops at the first response from outside the
// provider that comes after the provider has been reached: that is the RP's
// answer to the redirect (or form_post) back from the provider — typically
// the RP callback's 307 to the application, not followed. That response is
// returned with its body buffered (the caller should still close it).
//
// SignIn fails the test on a provider error page, on an unexpected page, or
// after 30 steps.
func (p *Provider) SignIn(t testing.TB, client *http.Client, authorizeURL, login string) *http.Response {
	t.Helper()
	c := p.browser(t, client)
	req, err := http.NewRequest(http.MethodGet, authorizeURL, nil)
	if err != nil {
		t.Fatalf("realop: SignIn: %v", err)
	}
	reachedProvider := false
	for step := 0; step < maxSteps; step++ {
		resp, body := p.do(t, c, req)
		onProvider := p.isProvider(req.URL)
		if !onProvider && reachedProvider {
			return resp
		}
		reachedProvider = reachedProvider || onProvider
		if loc := redirectLocation(t, resp); loc != nil {
			req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
			continue
		}
		if !onProvider || resp.StatusCode != http.StatusOK {
			t.Fatalf("realop: SignIn: unexpected %s from %s:\n%s", resp.Status, req.URL, snippet(body))
		}
		forms := parseForms(body)
		f := pickForm(forms, func(f htmlForm) bool { return f.hasField("login") })
		if f == nil {
			f = pickForm(forms, func(f htmlForm) bool { return strings.EqualFold(f.method, "post") })
		}
		if f == nil {
			t.Fatalf("realop: SignIn: no form on the page from %s:\n%s", req.URL, snippet(body))
		}
		vals := f.values()
		if f.hasField("login") {
			vals.Set("login", login)
			vals.Set("password", "any-password")
		}
		req = f.request(t, req.URL, vals)
	}
	t.Fatalf("realop: SignIn: gave up after %d steps", maxSteps)
	return nil
}

// SignOut performs the user's part of RP-initiated logout: starting with GET
// endSessionURL (the provider's end_session endpoint with id_token_hint,
// post_logout_redirect_uri, state..., or an RP route redirecting there), it
// follows redirects up to the provider's "Do you want to sign-out?" page,
// confirms it ("Yes, sign me out", logout=yes; which also ends the session at
// every other RP), and returns the provider's answer: the 303 redirect to the
// post_logout_redirect_uri (or to the provider's own logout success page when
// none was given), not followed. Back-channel logout tokens have been
// delivered (or have failed) by the time the redirect is returned; the
// matching stdout events may take a moment to be counted: use WaitCount.
func (p *Provider) SignOut(t testing.TB, client *http.Client, endSessionURL string) *http.Response {
	t.Helper()
	c := p.browser(t, client)
	req, err := http.NewRequest(http.MethodGet, endSessionURL, nil)
	if err != nil {
		t.Fatalf("realop: SignOut: %v", err)
	}
	confirmed := false
	for step := 0; step < maxSteps; step++ {
		resp, body := p.do(t, c, req)
		onProvider := p.isProvider(req.URL)
		if loc := redirectLocation(t, resp); loc != nil {
			if confirmed {
				return resp
			}
			req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
			continue
		}
		if confirmed || !onProvider || resp.StatusCode != http.StatusOK {
			t.Fatalf("realop: SignOut: unexpected %s from %s:\n%s", resp.Status, req.URL, snippet(body))
		}
		forms := parseForms(body)
		f := pickForm(forms, func(f htmlForm) bool { return f.hasField("xsrf") })
		if f == nil {
			t.Fatalf("realop: SignOut: no logout form on the page from %s:\n%s", req.URL, snippet(body))
		}
		vals := f.values()
		for _, b := range f.buttons {
			if b.name == "logout" {
				vals.Set(b.name, b.value)
			}
		}
		if vals.Get("logout") == "" {
			vals.Set("logout", "yes")
		}
		req = f.request(t, req.URL, vals)
		confirmed = true
	}
	t.Fatalf("realop: SignOut: gave up after %d steps", maxSteps)
	return nil
}

func (p *Provider) browser(t testing.TB, client *http.Client) *http.Client {
	t.Helper()
	if client == nil || client.Jar == nil {
		t.Fatalf("realop: the http.Client needs a cookie jar (net/http/cookiejar)")
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (p *Provider) isProvider(u *url.URL) bool {
	iss, err := url.Parse(p.issuer)
	return err == nil && strings.EqualFold(u.Scheme, iss.Scheme) && strings.EqualFold(u.Host, iss.Host)
}

// do sends req and returns the response with its body read and buffered.
func (p *Provider) do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("realop: %s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		t.Fatalf("realop: reading %s %s: %v", req.Method, req.URL, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, body
}

func redirectLocation(t testing.TB, resp *http.Response) *url.URL {
	t.Helper()
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("realop: %s from %s without a usable Location: %v", resp.Status, resp.Request.URL, err)
	}
	return loc
}

func snippet(b []byte) string {
	s := string(b)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// A small, tolerant HTML form reader: enough for oidc-provider's
// devInteractions, logout and form_post pages.

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form\s*>`)
	inputRe  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonRe = regexp.MustCompile(`(?is)<button\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

type htmlField struct{ name, typ, value string }

type htmlButton struct{ name, value string }

type htmlForm struct {
	id, action, method string
	fields             []htmlField
	buttons            []htmlButton
}

func parseAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(a[1])
		if _, dup := m[name]; dup {
			continue
		}
		m[name] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

func parseForms(body []byte) []htmlForm {
	doc := string(body)
	var forms []htmlForm
	for _, fm := range formRe.FindAllStringSubmatch(doc, -1) {
		attrs := parseAttrs(fm[1])
		f := htmlForm{id: attrs["id"], action: attrs["action"], method: attrs["method"]}
		if f.method == "" {
			f.method = "get"
		}
		for _, im := range inputRe.FindAllStringSubmatch(fm[2], -1) {
			a := parseAttrs(im[1])
			if a["name"] == "" {
				continue
			}
			f.fields = append(f.fields, htmlField{name: a["name"], typ: strings.ToLower(a["type"]), value: a["value"]})
		}
		for _, bm := range buttonRe.FindAllStringSubmatch(fm[2], -1) {
			if a := parseAttrs(bm[1]); a["name"] != "" {
				f.buttons = append(f.buttons, htmlButton{a["name"], a["value"]})
			}
		}
		forms = append(forms, f)
	}
	// Buttons outside a form that name it with form="id".
	for _, bm := range buttonRe.FindAllStringSubmatch(formRe.ReplaceAllString(doc, ""), -1) {
		a := parseAttrs(bm[1])
		for i := range forms {
			if a["name"] != "" && a["form"] != "" && a["form"] == forms[i].id {
				forms[i].buttons = append(forms[i].buttons, htmlButton{a["name"], a["value"]})
			}
		}
	}
	return forms
}

func pickForm(forms []htmlForm, ok func(htmlForm) bool) *htmlForm {
	for i := range forms {
		if ok(forms[i]) {
			return &forms[i]
		}
	}
	return nil
}

func (f htmlForm) hasField(name string) bool {
	for _, fl := range f.fields {
		if fl.name == name {
			return true
		}
	}
	return false
}

// values are the form's successful controls, text-like ones with their
// preset value; checkboxes/radios only when preset (not tracked: skipped).
func (f htmlForm) values() url.Values {
	v := url.Values{}
	for _, fl := range f.fields {
		switch fl.typ {
		case "submit", "button", "image", "reset", "file", "checkbox", "radio":
			continue
		}
		v.Add(fl.name, fl.value)
	}
	return v
}

func (f htmlForm) request(t testing.TB, base *url.URL, vals url.Values) *http.Request {
	t.Helper()
	action, err := base.Parse(f.action)
	if err != nil {
		t.Fatalf("realop: bad form action %q: %v", f.action, err)
	}
	if !strings.EqualFold(f.method, "post") {
		action.RawQuery = vals.Encode()
		req, _ := http.NewRequest(http.MethodGet, action.String(), nil)
		return req
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
	if err != nil {
		t.Fatalf("realop: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
