package open311

import (
	"bytes"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits of a POST body (docs/open311.md "Limits").
const (
	maxBodyBytes  = 64 << 10 // a request with a 4,000-character description and 50 answers fits many times
	maxFormParams = 300
	maxParamBytes = 8 << 10 // one value; description (4,000 characters) fits in UTF-8
)

// attrKey matches attribute[code] and attribute[code][] (the multivaluelist form).
var attrKey = regexp.MustCompile(`^attribute\[([^\[\]]*)\](\[\])?$`)

// form is a parsed POST body: plain parameters, repeatable ones, and the
// attribute[...] answers keyed by question code (a string, or []string when
// sent as attribute[code][]).
type form struct {
	params map[string]string
	lists  map[string][]string
	attrs  map[string]any
}

// repeatable are the parameters that may be sent more than once (FixMyStreet
// sends several media_url when a report has several photos).
var repeatable = map[string]bool{"media_url": true}

// get returns a plain parameter ("" when absent or empty: the spec treats an
// empty optional parameter as absent).
func (f *form) get(name string) string { return f.params[name] }

// has reports whether a non-empty parameter was sent.
func (f *form) has(name string) bool { _, ok := f.params[name]; return ok }

// checkContentType accepts the spec's application/x-www-form-urlencoded (a
// missing type too, as curl -d and old clients send it); multipart is refused
// because file uploads are not implemented (docs/open311.md).
func checkContentType(ct string) *apiError {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return badParam("Content-Type", "want application/x-www-form-urlencoded.")
	}
	if mt != "application/x-www-form-urlencoded" {
		return badParam("Content-Type", "want application/x-www-form-urlencoded; got "+mt+" (file uploads are not supported: send media_url).")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return badParam("Content-Type", "the charset must be UTF-8.")
	}
	return nil
}

// parseForm parses a form-urlencoded body plus the query string (api_key and
// jurisdiction_id may come in either). Every problem is a 400 naming the
// parameter; nothing about the body is guessed.
func parseForm(body []byte, query url.Values) (*form, *apiError) {
	if len(body) > maxBodyBytes {
		return nil, badParam("body", "the request body is over its limit of 64 KiB.")
	}
	if bytes.Count(body, []byte("&"))+1 > maxFormParams {
		return nil, badParam("body", "too many parameters.")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badParam("body", "malformed form body (want application/x-www-form-urlencoded).")
	}
	for k, vs := range query {
		values[k] = append(values[k], vs...)
	}
	f := &form{params: map[string]string{}, lists: map[string][]string{}, attrs: map[string]any{}}
	scalar, listed := map[string]bool{}, map[string]bool{} // attribute codes by the form they came in
	for key, vs := range values {
		if !utf8.ValidString(key) {
			return nil, badParam("body", "a parameter name is not valid UTF-8.")
		}
		name := key
		if len(name) > 100 {
			name = name[:100]
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, badParam(name, "not valid UTF-8.")
			}
			if len(v) > maxParamBytes {
				return nil, badParam(name, "the value is over its limit of 8 KiB.")
			}
		}
		if strings.HasPrefix(key, "attribute") {
			m := attrKey.FindStringSubmatch(key)
			if m == nil || m[1] == "" {
				return nil, badParam(name, "want attribute[code] or attribute[code][].")
			}
			code, isList := m[1], m[2] != ""
			if (isList && scalar[code]) || (!isList && listed[code]) {
				return nil, badParam("attribute["+code+"]", "sent both as attribute["+code+"] and attribute["+code+"][].")
			}
			nonEmpty := nonEmptyValues(vs)
			if isList {
				listed[code] = true
				if len(nonEmpty) > 0 {
					f.attrs[code] = nonEmpty
				}
				continue
			}
			scalar[code] = true
			if len(vs) > 1 && !allEqual(vs) {
				return nil, badParam("attribute["+code+"]", "sent more than once; a list is sent as attribute["+code+"][].")
			}
			if len(nonEmpty) > 0 {
				f.attrs[code] = nonEmpty[0]
			}
			continue
		}
		base := strings.TrimSuffix(key, "[]")
		if repeatable[base] {
			f.lists[base] = append(f.lists[base], nonEmptyValues(vs)...)
			continue
		}
		if len(vs) > 1 && !allEqual(vs) {
			return nil, badParam(name, "sent more than once with different values.")
		}
		if v := vs[0]; strings.TrimSpace(v) != "" {
			f.params[key] = v
		}
	}
	return f, nil
}

func nonEmptyValues(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

func allEqual(vs []string) bool {
	for _, v := range vs[1:] {
		if v != vs[0] {
			return false
		}
	}
	return true
}
