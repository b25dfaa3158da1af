package commands

import (
	"strings"

	"revokebot/store"
)

// MatchApplication returns the accesses whose application's title matches what a person typed:
// those whose title equals it, ignoring case, if any; otherwise those whose title contains it.
func MatchApplication(access []store.Item, query string) []store.Item {
	q := strings.ToLower(strings.TrimSpace(query))
	var exact, partial []store.Item
	for _, it := range access {
		title := strings.ToLower(it.ApplicationTitle)
		switch {
		case title == q:
			exact = append(exact, it)
		case strings.Contains(title, q):
			partial = append(partial, it)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}
