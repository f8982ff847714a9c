package consultations

import (
	"encoding/json"
	"testing"
)

// FuzzBallotArgs: untrusted ballot args and answers never panic the parser
// or the validator.
func FuzzBallotArgs(f *testing.F) {
	f.Add([]byte(`{"consultationId":"abcdefghijklmno","baseVersion":0,"answers":{"q":{"options":["a","a"]},"t":{"text":"x"}}}`))
	f.Add([]byte(`{"consultationId":"abcdefghijklmno","baseVersion":-1}`))
	f.Add([]byte(`null`))
	c := &Consultation{Questions: []Question{
		{ID: "q", Kind: KindRanking, TopK: 2, Options: []Option{{ID: "a"}, {ID: "b"}, {ID: "c"}}},
		{ID: "m", Kind: KindMultiple, Min: 1, Max: 2, Other: true, Options: []Option{{ID: "a"}, {ID: "b"}}},
		{ID: "t", Kind: KindText, MaxLength: 10},
	}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := parseCast(json.RawMessage(raw))
		if err != nil {
			return
		}
		_ = c.Validate(v.(*castArgs).Answers)
	})
}
