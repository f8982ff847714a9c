package push_test

import (
	"encoding/json"
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/workflow"
)

func TestRenderEveryLanguage(t *testing.T) {
	cfg := city.Default()
	m := push.Message{Kind: push.KindStatus, RequestID: "abcdefghijklmno", Number: "2026-000042", Status: workflow.StatusResolved}
	seen := map[string]string{}
	for _, lang := range city.Languages {
		for _, kind := range []string{push.KindStatus, push.KindNote, push.KindReceipt} {
			m.Kind = kind
			p := push.Render(cfg, m, lang)
			if p.Title == "" || p.Body == "" || !strings.Contains(p.Title, m.Number) {
				t.Errorf("%s/%s: %+v", lang, kind, p)
			}
			if strings.Contains(p.Body, "%") {
				t.Errorf("%s/%s: unformatted body %q", lang, kind, p.Body)
			}
			if other, dup := seen[p.Body]; dup && other != kind {
				t.Errorf("%s/%s: body %q is shared with %s", lang, kind, p.Body, other)
			}
			seen[p.Body] = kind
			var back map[string]string
			if err := json.Unmarshal(p.Encode(), &back); err != nil || len(back) != 6 {
				t.Errorf("encoded payload %s: %v", p.Encode(), err)
			}
		}
	}
	if got := push.Render(cfg, m, "de-AT").Title; !strings.HasPrefix(got, "Segnalazione") {
		t.Errorf("unsupported language should fall back to the city's default (it), got %q", got)
	}
}

func TestRenderStatusNamesLocalised(t *testing.T) {
	cfg := city.Default()
	for _, lang := range city.Languages {
		names := map[string]bool{}
		for _, s := range workflow.Statuses {
			p := push.Render(cfg, push.Message{Kind: push.KindStatus, RequestID: "r", Number: "1", Status: s}, lang)
			if strings.Contains(p.Body, s) && strings.Contains(s, "_") {
				t.Errorf("%s: raw status %q in %q", lang, s, p.Body)
			}
			names[p.Body] = true
		}
		if len(names) != len(workflow.Statuses) {
			t.Errorf("%s: %d distinct bodies for %d statuses", lang, len(names), len(workflow.Statuses))
		}
	}
}

func TestTopicIsShortAndURLSafe(t *testing.T) {
	for _, id := range []string{"abcdefghijklmno", strings.Repeat("z", 40)} {
		topic := push.Topic(id)
		if len(topic) > 32 || strings.Trim(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Errorf("Topic(%q) = %q", id, topic)
		}
	}
}
