package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store"
)

// A request with several accesses (an offboarding) shows them grouped by application. Slack
// takes at most 50 blocks a message and 3,000 characters a section, so the approval message
// shows as many as fit in itemBlocks sections of itemSectionText characters and says how many
// more there are; the full list is then the thread's first replies, listPageSize accesses each.
const (
	// itemBlocks is how many sections the approval message gives its accesses, leaving room
	// for the header, the fields, the summary, the status and the buttons.
	itemBlocks = 40
	// itemSectionText keeps a section of accesses inside Slack's 3,000 characters.
	itemSectionText = 2900
	// itemMessageText bounds the accesses' text in the approval message as a whole, so that it
	// stays readable and far below Slack's message size.
	itemMessageText = 12000
	// itemsShown is how many accesses the approval message lists at most: enough for most
	// offboardings, few enough to read before clicking Approve.
	itemsShown = 40
	// itemLineText keeps one access's line short: a resource and its permissions.
	itemLineText = 280
	// listPageSize is how many accesses one reply of the full list holds: at most about
	// 15,000 characters, far below the 40,000 Slack keeps of a message's text.
	listPageSize = 50
)

// appGroup is the accesses of one application.
type appGroup struct {
	title string
	items []store.Item
}

// groupByApplication groups items by application, applications by title, and accesses within
// one by resource, so the same request always renders the same way.
func groupByApplication(items []store.Item) []appGroup {
	byApp := make(map[string]*appGroup)
	var groups []*appGroup
	for _, it := range items {
		key := it.ApplicationID + "\x00" + it.ApplicationTitle
		g, ok := byApp[key]
		if !ok {
			g = &appGroup{title: it.ApplicationTitle}
			if g.title == "" {
				g.title = "Access states AccessOwl did not describe"
			}
			byApp[key] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, it)
	}
	slices.SortStableFunc(groups, func(a, b *appGroup) int { return cmp.Compare(strings.ToLower(a.title), strings.ToLower(b.title)) })
	out := make([]appGroup, len(groups))
	for i, g := range groups {
		slices.SortStableFunc(g.items, func(a, b store.Item) int { return cmp.Compare(a.ResourceTitle, b.ResourceTitle) })
		out[i] = *g
	}
	return out
}

// itemLine is one access in a list: its resource, its permissions, and its ID, which AccessOwl's
// web app and `/revoke <id>` know it by.
func itemLine(it store.Item) string {
	line := "• " + resource(it)
	if len(it.Permissions) > 0 {
		line += " — " + permissions(it.Permissions)
	}
	return truncate(line, itemLineText) + " `" + Escape(it.AccessStateID) + "`"
}

// groupHeading names an application and how many of its accesses the request revokes.
func groupHeading(g appGroup) string {
	return fmt.Sprintf("*%s* (%d)", Escape(g.title), len(g.items))
}

// itemSections renders the accesses of a request with several for its approval message, within
// Slack's limits, and returns how many accesses they show.
func itemSections(r store.Request) (blocks []slack.Block, shown int) {
	total := 0
	for _, g := range groupByApplication(r.Items) {
		if len(blocks) == itemBlocks || total >= itemMessageText || shown == itemsShown {
			break
		}
		text := groupHeading(g)
		for _, it := range g.items {
			line := itemLine(it)
			n := utf8.RuneCountInString(text) + 1 + utf8.RuneCountInString(line)
			if n > itemSectionText || total+n > itemMessageText || shown == itemsShown {
				break
			}
			text += "\n" + line
			shown++
		}
		total += utf8.RuneCountInString(text)
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(text), nil, nil))
	}
	return blocks, shown
}

// listPages is how many thread replies the full list of r's accesses takes: none when its
// approval message shows them all.
func listPages(r store.Request) int {
	if len(r.Items) <= 1 {
		return 0
	}
	if _, shown := itemSections(r); shown == len(r.Items) {
		return 0
	}
	return (len(r.Items) + listPageSize - 1) / listPageSize
}

// ListPages says how many replies the full list of r's accesses takes in its thread.
func (n *Notifier) ListPages(r store.Request) int { return listPages(r) }

// UpdateReply rewrites a reply kept up to date in place — the progress of an offboarding, an
// ask whose revocation became final.
func (n *Notifier) UpdateReply(ctx context.Context, r store.Request, ts string, e revoke.Event) error {
	options, err := n.threadReply(r, e)
	if err != nil {
		return err
	}
	return n.out.Update(ctx, r.Channel, ts, options...)
}

// listText is one page of the full list of r's accesses, grouped by application.
func listText(r store.Request, page int) string {
	pages := listPages(r)
	var items []store.Item
	for _, g := range groupByApplication(r.Items) {
		items = append(items, g.items...)
	}
	from := min((page-1)*listPageSize, len(items))
	to := min(from+listPageSize, len(items))
	var b strings.Builder
	fmt.Fprintf(&b, "Every access this request revokes (%d)", len(items))
	if pages > 1 {
		fmt.Fprintf(&b, ", page %d of %d", page, pages)
	}
	b.WriteString(":")
	last := ""
	for _, it := range items[from:to] {
		if app := it.ApplicationID + "\x00" + it.ApplicationTitle; app != last {
			title := it.ApplicationTitle
			if title == "" {
				title = "Access states AccessOwl did not describe"
			}
			fmt.Fprintf(&b, "\n*%s*", Escape(title))
			last = app
		}
		b.WriteString("\n" + itemLine(it))
	}
	return b.String()
}

// counts is where the accesses of a request stand.
type counts struct {
	revoked, rejected, refused, processing, admin, waiting, unanswered int
}

func countItems(items []store.Item) counts {
	var c counts
	for _, it := range items {
		switch {
		case it.LastError != "" && !it.Settled():
			c.unanswered++
		case it.Refusal != "":
			c.refused++
		case it.Status == apiclient.RevocationRevoked:
			c.revoked++
		case it.Status == apiclient.RevocationRejected:
			c.rejected++
		case it.Status == apiclient.RevocationProcessing && it.ProvisioningType == string(apiclient.ProvisioningApplicationAdmin):
			c.admin++
		case it.Status != "":
			c.processing++
		default:
			c.waiting++
		}
	}
	return c
}

// progress says where the accesses of a request stand, in one line.
func progress(items []store.Item) string {
	c := countItems(items)
	parts := []string{fmt.Sprintf("%d of %d revoked", c.revoked, len(items))}
	for _, p := range []struct {
		n    int
		text string
	}{{c.processing, "being removed by AccessOwl"}, {c.admin, "waiting for an application's admin"}, {c.waiting, "being submitted"}, {c.unanswered, "not answered by AccessOwl yet (retrying)"},
		{c.rejected, "rejected by AccessOwl"}, {c.refused, "refused by AccessOwl"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.text))
		}
	}
	return strings.Join(parts, " · ") + "."
}

// finalText tells the requester how a request with several accesses ended.
func finalText(r store.Request) string {
	c := countItems(r.Items)
	if c.revoked == len(r.Items) {
		return fmt.Sprintf("%s Done: all %d accesses of %s are revoked.", Mention(r.RequesterID), len(r.Items), Escape(r.Grantee.Name))
	}
	var stay []string
	if c.rejected > 0 {
		stay = append(stay, fmt.Sprintf("%d rejected", c.rejected))
	}
	if c.refused > 0 {
		stay = append(stay, fmt.Sprintf("%d refused by AccessOwl", c.refused))
	}
	rest := "the other one was not"
	if n := c.rejected + c.refused; n != 1 {
		rest = fmt.Sprintf("the other %d were not", n)
	}
	return fmt.Sprintf("%s Done: %d of %d accesses of %s are revoked; %s (%s). The replies above say which and why.",
		Mention(r.RequesterID), c.revoked, len(r.Items), Escape(r.Grantee.Name), rest, strings.Join(stay, ", "))
}

// confirmText is what the Approve button's confirm dialog says will happen.
func confirmText(r store.Request) string {
	if len(r.Items) > 1 {
		return fmt.Sprintf("revokebot will ask AccessOwl to revoke all %d accesses of %s listed in the request. This cannot be undone from Slack.",
			len(r.Items), Escape(grantee(r)))
	}
	who := "AccessOwl will remove"
	if it := r.Items[0]; it.ProvisioningType == string(apiclient.ProvisioningApplicationAdmin) {
		who = fmt.Sprintf("An admin of %s will be asked to remove", Escape(it.ApplicationTitle))
	}
	return fmt.Sprintf("%s %s's access to %s. This cannot be undone from Slack.", who, Escape(grantee(r)), accessText(r))
}

// confirmTitle is the Approve button's confirm title; Slack allows 100 characters.
func confirmTitle(r store.Request) string {
	if len(r.Items) == 1 {
		return "Revoke this access?"
	}
	return truncate(fmt.Sprintf("Revoke all %d accesses of %s?", len(r.Items), grantee(r)), 100)
}

// grantee names the request's person in plain text.
func grantee(r store.Request) string {
	return cmp.Or(r.Grantee.Name, r.Grantee.Email, "this person")
}
