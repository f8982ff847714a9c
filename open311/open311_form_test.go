package open311

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body, query string
		wantErr           string // a substring of the first error's description; "" = ok
		check             func(t *testing.T, f *form)
	}{
		{name: "plain and attributes", body: "service_code=pothole&lat=44.4&attribute%5Bsize%5D=large&attribute[items][]=a&attribute[items][]=b",
			check: func(t *testing.T, f *form) {
				if f.get("service_code") != "pothole" || f.attrs["size"] != "large" || !reflect.DeepEqual(f.attrs["items"], []string{"a", "b"}) {
					t.Errorf("%+v", f)
				}
			}},
		{name: "api_key from the query", body: "service_code=x", query: "api_key=k1",
			check: func(t *testing.T, f *form) {
				if f.get("api_key") != "k1" {
					t.Errorf("%+v", f)
				}
			}},
		{name: "empty is absent", body: "email=&attribute[size]=&lat=",
			check: func(t *testing.T, f *form) {
				if f.has("email") || f.has("lat") || len(f.attrs) != 0 {
					t.Errorf("%+v", f)
				}
			}},
		{name: "same value twice is once", body: "service_code=a&service_code=a",
			check: func(t *testing.T, f *form) {
				if f.get("service_code") != "a" {
					t.Errorf("%+v", f)
				}
			}},
		{name: "repeatable media_url", body: "media_url=https://a.example/1&media_url[]=https://a.example/2",
			check: func(t *testing.T, f *form) {
				if len(f.lists["media_url"]) != 2 {
					t.Errorf("%+v", f)
				}
			}},
		{name: "bad escape", body: "a=%zz", wantErr: "body: malformed"},
		{name: "semicolon", body: "a=1;b=2", wantErr: "body: malformed"},
		{name: "conflicting values", body: "lat=1&lat=2", wantErr: "lat: sent more than once"},
		{name: "conflict across query and body", body: "api_key=a", query: "api_key=b", wantErr: "api_key: sent more than once"},
		{name: "attribute without code", body: "attribute[]=x", wantErr: "attribute[]: want attribute[code]"},
		{name: "nested attribute", body: "attribute[a][b]=x", wantErr: "want attribute[code]"},
		{name: "bare attribute", body: "attribute=x", wantErr: "want attribute[code]"},
		{name: "scalar and list", body: "attribute[x]=1&attribute[x][]=2", wantErr: "attribute[x]: sent both"},
		{name: "scalar twice", body: "attribute[x]=1&attribute[x]=2", wantErr: "attribute[x]: sent more than once"},
		{name: "invalid UTF-8 value", body: "description=%ff%fe", wantErr: "description: not valid UTF-8"},
		{name: "invalid UTF-8 name", body: "%ff=1", wantErr: "body: a parameter name"},
		{name: "over the limit", body: "d=" + strings.Repeat("x", maxBodyBytes), wantErr: "body: the request body is over"},
		{name: "value over its limit", body: "d=" + strings.Repeat("x", maxParamBytes+1), wantErr: "d: the value is over"},
		{name: "too many parameters", body: strings.Repeat("a=1&", maxFormParams), wantErr: "body: too many"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			f, ae := parseForm([]byte(c.body), q)
			if c.wantErr != "" {
				if ae == nil || ae.Status != 400 || !strings.Contains(ae.Errors[0].Description, c.wantErr) {
					t.Fatalf("want 400 %q, got %v", c.wantErr, ae)
				}
				return
			}
			if ae != nil {
				t.Fatalf("unexpected %v", ae)
			}
			c.check(t, f)
		})
	}
}

func TestContentType(t *testing.T) {
	t.Parallel()
	for ct, ok := range map[string]bool{
		"": true, "application/x-www-form-urlencoded": true, "application/x-www-form-urlencoded; charset=utf-8": true,
		"application/x-www-form-urlencoded; charset=UTF-8": true, "application/x-www-form-urlencoded; charset=latin1": false,
		"multipart/form-data; boundary=x": false, "application/json": false, "nonsense/": false,
	} {
		if got := checkContentType(ct) == nil; got != ok {
			t.Errorf("%q: ok=%v, want %v", ct, got, ok)
		}
	}
}

// FuzzParseForm: the form-body parser never panics on untrusted bodies, and
// what it accepts is well-formed and survives a round trip: encoding the
// parsed form and parsing it again gives the same form.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"api_key=k&service_code=pothole&lat=44.4&long=8.9&attribute%5Bsize%5D=large",
		"attribute[items][]=a&attribute[items][]=b&media_url=https://x.example/1",
		"a=%zz", "attribute[x]=1&attribute[x][]=2", "description=%ff", "=&&=&a", "attribute[%5B]=1",
	} {
		f.Add(s, "api_key=q")
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			q = url.Values{}
		}
		got, ae := parseForm([]byte(body), q)
		if ae != nil {
			if ae.Status != 400 || len(ae.Errors) == 0 || !strings.Contains(ae.Errors[0].Description, ": ") {
				t.Fatalf("a refusal must be a 400 naming the parameter: %+v", ae)
			}
			return
		}
		back := url.Values{}
		for k, v := range got.params {
			if strings.TrimSpace(v) == "" {
				t.Fatalf("empty value kept for %q", k)
			}
			back.Set(k, v)
		}
		for k, vs := range got.lists {
			for _, v := range vs {
				back.Add(k, v)
			}
		}
		for code, v := range got.attrs {
			if code == "" || strings.ContainsAny(code, "[]") {
				t.Fatalf("bad attribute code %q", code)
			}
			switch a := v.(type) {
			case string:
				back.Set("attribute["+code+"]", a)
			case []string:
				if len(a) == 0 || slices.Contains(a, "") {
					t.Fatalf("empty list item in %q: %v", code, a)
				}
				for _, x := range a {
					back.Add("attribute["+code+"][]", x)
				}
			default:
				t.Fatalf("attribute %q has type %T", code, v)
			}
		}
		again, ae := parseForm([]byte(back.Encode()), nil)
		if ae != nil {
			t.Fatalf("re-encoded form %q refused: %v", back.Encode(), ae)
		}
		if !reflect.DeepEqual(got.params, again.params) || !reflect.DeepEqual(got.attrs, again.attrs) || len(got.lists["media_url"]) != len(again.lists["media_url"]) {
			t.Fatalf("round trip differs:\n%+v\n%+v", got, again)
		}
	})
}
