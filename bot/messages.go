package bot

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store"
)

// The action IDs of the approval message's buttons, and the block that holds them.
const (
	ActionApprove = "revokebot_approve"
	ActionReject  = "revokebot_reject"
	// ActionRetry is the button of an approved request that AccessOwl did not take yet: an
	// approver's click submits it again at once, as a second Approve would.
	ActionRetry   = "revokebot_retry"
	decisionBlock = "revokebot_decision"
)

// ReplyMetadataType marks a thread reply the bot posted exactly once, so that after a crash it
// can tell from the thread itself whether the reply was already posted. The name is the one the
// first releases gave their status replies, which recovery still reads.
const ReplyMetadataType = "revokebot_status"

// ApprovalMessage is the message in the revocations channel for r: who asked, whose access, to
// what, why, where it stands, and — while the request is pending — the Approve and Reject
// buttons, which carry buttonValue.
func ApprovalMessage(r store.Request, buttonValue string) []slack.MsgOption {
	status := StatusLine(r)
	// The metadata lets a restarted bot find the message in the channel when a crash came
	// between posting it and recording where it is.
	metadata := slack.SlackMetadata{EventType: ReplyMetadataType, EventPayload: map[string]any{
		"request_id": r.ID.String(), "key": revoke.Event{Kind: revoke.RequestPosted}.Key(),
	}}
	header := "Access revocation request"
	if r.All {
		header = truncate("Offboarding: all access of "+grantee(r), 150)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(Plain(header)),
		slack.NewSectionBlock(nil, requestFields(r), nil),
	}
	if len(r.Items) > 1 {
		sections, shown := itemSections(r)
		blocks = append(blocks, sections...)
		if shown < len(r.Items) {
			blocks = append(blocks, slack.NewContextBlock("revokebot_more",
				Mrkdwn(fmt.Sprintf("…and %d more — the full list is in the thread.", len(r.Items)-shown))))
		}
	}
	blocks = append(blocks, slack.NewContextBlock("revokebot_status", Mrkdwn(status)))
	if r.State == store.Pending {
		confirmLabel := "Revoke access"
		if len(r.Items) > 1 {
			confirmLabel = fmt.Sprintf("Revoke %d accesses", len(r.Items))
		}
		approve := slack.NewButtonBlockElement(ActionApprove, buttonValue, Plain("Approve")).
			WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(
				Plain(confirmTitle(r)),
				Mrkdwn(confirmText(r)),
				Plain(confirmLabel),
				Plain("Cancel")))
		reject := slack.NewButtonBlockElement(ActionReject, buttonValue, Plain("Reject")).
			WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(decisionBlock, approve, reject))
	}
	if retrying(r) {
		retry := slack.NewButtonBlockElement(ActionRetry, buttonValue, Plain("Retry now"))
		blocks = append(blocks, slack.NewActionBlock(decisionBlock, retry))
	}
	what := fmt.Sprintf("%s's access to %s", Escape(r.Grantee.Name), accessText(r))
	if len(r.Items) > 1 {
		what = fmt.Sprintf("all %d accesses of %s", len(r.Items), Escape(r.Grantee.Name))
	}
	return []slack.MsgOption{
		slack.MsgOptionText(fmt.Sprintf("Access revocation request: %s, asked by %s. %s", what, Mention(r.RequesterID), status), false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionMetadata(metadata),
	}
}

// requestFields are the approval message's fields: whose access, to what, who asked and why.
func requestFields(r store.Request) []*slack.TextBlockObject {
	fields := []*slack.TextBlockObject{Mrkdwn("*Person*\n" + person(r.Grantee))}
	switch {
	case len(r.Items) == 1 && r.Items[0].ApplicationTitle == "":
		// Asked for by an access state's ID that AccessOwl did not describe.
		fields = append(fields, Mrkdwn(fmt.Sprintf("*Access state*\n`%s`\nAccessOwl did not describe it; it checks the ID when the revocation is submitted.",
			Escape(r.Items[0].AccessStateID))))
	case len(r.Items) == 1:
		it := r.Items[0]
		fields = append(fields,
			Mrkdwn("*Application*\n"+Escape(it.ApplicationTitle)),
			Mrkdwn("*Resource*\n"+resource(it)),
			Mrkdwn("*Permissions*\n"+permissions(it.Permissions)))
	default:
		// The accesses follow the fields, grouped by application (itemSections).
		fields = append(fields, Mrkdwn(fmt.Sprintf("*Accesses*\n%d in %d applications", len(r.Items), len(groupByApplication(r.Items)))))
	}
	return append(fields,
		Mrkdwn("*Requested by*\n"+Mention(r.RequesterID)),
		Mrkdwn("*Reason*\n"+truncate(Escape(r.Reason), maxFieldText)))
}

// retrying reports whether an approved request has an item AccessOwl did not take yet, after an
// attempt it did not answer: its message then offers to retry at once.
func retrying(r store.Request) bool {
	if r.State != store.Approved {
		return false
	}
	for _, it := range r.Items {
		if it.LastError != "" && !it.Settled() {
			return true
		}
	}
	return false
}

// ThreadReply is the thread reply about e. Its metadata names the reply's key, so a restarted bot can
// find it in the thread; a status reply also names its revocation and status.
func ThreadReply(r store.Request, e revoke.Event) []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(replyText(r, e), false), replyMetadata(r, e)}
}

// replyMetadata marks a thread reply with its key, so a restarted bot can find it.
func replyMetadata(r store.Request, e revoke.Event) slack.MsgOption {
	payload := map[string]any{"request_id": r.ID.String(), "key": e.Key()}
	if e.Kind == revoke.StatusChanged {
		payload["revocation_id"], payload["status"] = e.RevocationID, string(e.Status)
	}
	return slack.MsgOptionMetadata(slack.SlackMetadata{EventType: ReplyMetadataType, EventPayload: payload})
}

func replyText(r store.Request, e revoke.Event) string {
	switch e.Kind {
	case revoke.RequestRejected:
		return fmt.Sprintf("%s rejected this request. %s, the access stays.", Mention(r.DecidedBy), Mention(r.RequesterID))
	case revoke.AccessRefused:
		return fmt.Sprintf("AccessOwl refused the revocation%s: %s %s, nothing was revoked.",
			itemSuffix(r, e.Item), Escape(e.Item.Refusal), Mention(r.RequesterID))
	case revoke.ItemsListed:
		return listText(r, e.Page)
	case revoke.Progress:
		return "Progress: " + progress(r.Items)
	case revoke.RequestFinished:
		return finalText(r)
	case revoke.RequestExpired:
		return fmt.Sprintf("%s This request expired: no approver decided in time, so %s keeps access to %s. Ask again with `/revoke` if it is still needed.",
			Mention(r.RequesterID), Escape(r.Grantee.Name), accessText(r))
	}
	return statusReply(r, e)
}

// markedText says who marked a final status from the thread, and why it could not be done.
func markedText(e revoke.Event) string {
	switch {
	case e.MarkedBy == "":
		return ""
	case e.Reason != "":
		return fmt.Sprintf(" %s could not remove it: %s", Mention(e.MarkedBy), Escape(truncate(e.Reason, apiclient.MaxReasonLength)))
	default:
		return fmt.Sprintf(" Marked by %s.", Mention(e.MarkedBy))
	}
}

// accessText names what a request revokes, for sentences: one access, or how many.
func accessText(r store.Request) string {
	if len(r.Items) == 1 {
		return itemText(r.Items[0])
	}
	return fmt.Sprintf("%d accesses", len(r.Items))
}

// itemText names one access for sentences: its application and resource.
func itemText(it store.Item) string {
	text := Escape(it.ApplicationTitle)
	if text == "" {
		text = "access state `" + Escape(it.AccessStateID) + "`"
	}
	if it.ResourceTitle != "" {
		text += " (" + Escape(it.ResourceTitle) + ")"
	}
	return text
}

// itemSuffix names the access a reply is about when the request has several.
func itemSuffix(r store.Request, it store.Item) string {
	if len(r.Items) <= 1 {
		return ""
	}
	return " of " + itemText(it)
}

func person(p store.Person) string {
	name := Escape(p.Name)
	if name == "" {
		name = Escape(p.Email)
	}
	switch {
	case p.SlackID != "" && p.Email != "":
		return fmt.Sprintf("%s (%s)", Mention(p.SlackID), Escape(p.Email))
	case p.SlackID != "":
		return Mention(p.SlackID)
	case p.Email != "" && name != Escape(p.Email):
		return fmt.Sprintf("%s (%s)", name, Escape(p.Email))
	case name != "":
		return name
	case p.AccessOwlID != "":
		return "`" + Escape(p.AccessOwlID) + "`"
	default:
		return "Not known yet"
	}
}

func resource(it store.Item) string {
	switch {
	case it.ResourceTitle != "":
		return Escape(it.ResourceTitle)
	case it.ResourceID != "":
		return "`" + Escape(it.ResourceID) + "`"
	default:
		return "The whole application"
	}
}

func permissions(ps []store.Permission) string {
	if len(ps) == 0 {
		return "—"
	}
	titles := make([]string, len(ps))
	for i, p := range ps {
		titles[i] = Escape(p.Title)
		if p.Elevated {
			titles[i] += " (elevated)"
		}
	}
	return truncate(strings.Join(titles, ", "), maxFieldText)
}
