package city

import "testing"

// TestCORSOriginsFromEnv: CIVICDESK_CORS_ORIGINS is a comma-separated list,
// blanks dropped; unset leaves the list empty (only the public URL's origin).
func TestCORSOriginsFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CIVICDESK_CORS_ORIGINS": " https://www.comune.example, ,https://*.widgets.comune.example "}
	c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORSOrigins) != 2 || c.CORSOrigins[0] != "https://www.comune.example" || c.CORSOrigins[1] != "https://*.widgets.comune.example" {
		t.Fatalf("CORSOrigins = %q", c.CORSOrigins)
	}
	if d, _ := FromLookup(func(string) (string, bool) { return "", false }); len(d.CORSOrigins) != 0 {
		t.Fatalf("default CORSOrigins = %q", d.CORSOrigins)
	}
}
