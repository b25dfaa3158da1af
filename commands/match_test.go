package commands

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
)

func TestMatchApplicationPrefersAnExactTitle(t *testing.T) {
	access := []store.Item{
		{AccessStateID: "1", ApplicationTitle: "Google Workspace"},
		{AccessStateID: "2", ApplicationTitle: "Google"},
		{AccessStateID: "3", ApplicationTitle: "GitHub"},
		{AccessStateID: "4", ApplicationTitle: "google"},
	}
	ids := func(items []store.Item) (out []string) {
		for _, it := range items {
			out = append(out, it.AccessStateID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"google", []string{"2", "4"}},
		{" GOOGLE ", []string{"2", "4"}},
		{"work", []string{"1"}},
		{"git", []string{"3"}},
		{"slack", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(MatchApplication(access, tt.query))); diff != "" {
			t.Errorf("MatchApplication(%q) (-want +got):\n%s", tt.query, diff)
		}
	}
}
