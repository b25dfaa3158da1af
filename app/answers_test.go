package app

import (
	"strings"
	"testing"
)

// TestATextFormsAnswerReplacesItsLookingUpNote runs text forms whose answers need no AccessOwl
// call and so come at once: each must replace the command's "Looking up…" note, never arrive
// before it and leave it on screen.
func TestATextFormsAnswerReplacesItsLookingUpNote(t *testing.T) {
	w := newWorld(t)
	w.start()
	for i, tt := range []struct{ text, answer string }{
		{"@nobody.here GitHub Left", "as plain text"},
		{"<@U0NOSUCH|ghost> GitHub Left", ""},
	} {
		w.revoke(w.outsider, tt.text)
		shown := func() []string {
			var out []string
			for _, e := range w.slack.Ephemerals(w.outsider) {
				if !e.Deleted {
					out = append(out, e.Text)
				}
			}
			return out
		}
		waitFor(t, "the answer to "+tt.text, func() bool {
			got := shown()
			return len(got) == i+1 && !strings.Contains(got[i], "Looking up") && strings.Contains(got[i], tt.answer)
		})
		for _, text := range shown() {
			if strings.Contains(text, "Looking up") {
				t.Errorf("a Looking-up note stayed on screen: %q (all: %q)", text, shown())
			}
		}
	}
}
