package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"revokebot/revoke"
	"revokebot/store"
	"revokebot/store/storetest"
)

// offboarding is a request for n accesses over apps applications, with long names, as a large
// company's would be.
func offboarding(n, apps int) store.Request {
	r := storetest.NewRequest(1)
	r.All = true
	r.Grantee.Name = "Dev Patel"
	r.Items = nil
	for i := range n {
		it := storetest.NewItem(i)
		it.ApplicationID = fmt.Sprintf("app-%d", i%apps)
		it.ApplicationTitle = fmt.Sprintf("Application with a long name %d", i%apps)
		it.ResourceTitle = fmt.Sprintf("resource %s %d", strings.Repeat("r", 60), i)
		it.Permissions = []store.Permission{{Title: strings.Repeat("p", 40)}, {Title: "Admin", Elevated: true}}
		r.Items = append(r.Items, it)
	}
	return r
}

// sectionTexts returns the text of every section of a rendered message, and how many blocks it has.
func sectionTexts(t *testing.T, m rendered) ([]string, int) {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(m.blocks), &blocks); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, b := range blocks {
		if text, ok := b["text"].(map[string]any); ok && b["type"] == "section" {
			texts = append(texts, text["text"].(string))
		}
	}
	return texts, len(blocks)
}

func TestAnOffboardingsApprovalMessageStaysInsideSlacksLimits(t *testing.T) {
	for _, tc := range []struct{ items, apps, pages int }{{2, 1, 0}, {23, 9, 0}, {40, 3, 0}, {41, 3, 1}, {150, 12, 3}, {500, 60, 10}} {
		t.Run(fmt.Sprintf("%d accesses in %d applications", tc.items, tc.apps), func(t *testing.T) {
			r := offboarding(tc.items, tc.apps)
			m := render(t, ApprovalMessage(r, `{"v":2}`))
			texts, blocks := sectionTexts(t, m)
			if blocks > 50 {
				t.Errorf("%d blocks, Slack takes 50", blocks)
			}
			shown := 0
			for _, text := range texts {
				if n := utf8.RuneCountInString(text); n > 3000 {
					t.Errorf("a section of %d characters, Slack takes 3,000", n)
				}
				shown += strings.Count(text, "• ")
			}
			more := strings.Contains(m.blocks, fmt.Sprintf("and %d more", tc.items-shown))
			if (shown < tc.items) != more {
				t.Errorf("the message shows %d of %d accesses; says how many more: %v", shown, tc.items, more)
			}
			if got := listPages(r); got != tc.pages {
				t.Errorf("the list takes %d replies, want %d", got, tc.pages)
			}
			for _, b := range m.buttons {
				if b.Confirm != nil && b.Confirm.Title.Text != fmt.Sprintf("Revoke all %d accesses of Dev Patel?", tc.items) {
					t.Errorf("the confirm dialog asks %q", b.Confirm.Title.Text)
				}
			}
			listed := ""
			for page := 1; page <= tc.pages; page++ {
				reply := render(t, ThreadReply(r, revoke.Event{Kind: revoke.ItemsListed, Page: page}))
				if n := utf8.RuneCountInString(reply.text); n > 40000 {
					t.Errorf("page %d has %d characters; Slack keeps 40,000", page, n)
				}
				listed += reply.text
			}
			if tc.pages > 0 {
				for _, it := range r.Items {
					if strings.Count(listed, it.AccessStateID) != 1 {
						t.Fatalf("access state %s is listed %d times in the thread, want once", it.AccessStateID, strings.Count(listed, it.AccessStateID))
					}
				}
			}
		})
	}
}

func TestAnOffboardingsProgressAndEndInWords(t *testing.T) {
	r := offboarding(4, 2)
	r.State, r.DecidedBy = store.Approved, "U2"
	r.Items[0].Status = "revoked"
	r.Items[1].Status = "processing_access"
	r.Items[2].Refusal = "the access has already ended"
	if got := render(t, ThreadReply(r, revoke.Event{Kind: revoke.Progress})).text; got != "Progress: 1 of 4 revoked · 1 being removed by AccessOwl · 1 being submitted · 1 refused by AccessOwl." {
		t.Errorf("progress: %q", got)
	}
	r.Items[1].Status, r.Items[3].Status = "revoked", "rejected"
	want := "<@" + r.RequesterID + "> Done: 2 of 4 accesses of Dev Patel are revoked; the other 2 were not (1 rejected, 1 refused by AccessOwl). The replies above say which and why."
	if got := render(t, ThreadReply(r, revoke.Event{Kind: revoke.RequestFinished})).text; got != want {
		t.Errorf("final:\n got %q\nwant %q", got, want)
	}
}
