package websec

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzOriginPattern: the origin matcher that decides the 403 agrees with the
// regular expression PocketBase's CORS middleware builds from the same
// pattern (so the refusal and the CORS headers never disagree), and never
// matches past a pattern without wildcards.
func FuzzOriginPattern(f *testing.F) {
	for _, s := range [][2]string{
		{"https://*.city.example", "https://www.city.example"},
		{"https://*.city.example", "https://city.example.evil.example"},
		{"https://city.example:80??", "https://city.example:8090"},
		{"*", "https://x"},
		{"https://a*b*c", "https://aXbYc"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		if len(pattern) > 80 || len(origin) > 261 || !ascii(pattern+origin) || !strings.ContainsAny(pattern, "*?") {
			return
		}
		re := regexp.QuoteMeta(pattern)
		re = strings.ReplaceAll(re, `\*`, ".*")
		re = strings.ReplaceAll(re, `\?`, ".")
		want := regexp.MustCompile("^" + re + "$").MatchString(origin)
		if got := wildcardMatch(pattern, origin); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, PocketBase's pattern says %v", pattern, origin, got, want)
		}
	})
}

// ascii reports printable ASCII without newlines (what an Origin header holds).
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
