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
	blocks := []slack.Block{
		slack.NewHeaderBlock(Plain("Access revocation request")),
		slack.NewSectionBlock(nil, requestFields(r), nil),
		slack.NewContextBlock("revokebot_status", Mrkdwn(status)),
	}
	if r.State == store.Pending {
		approve := slack.NewButtonBlockElement(ActionApprove, buttonValue, Plain("Approve")).
			WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(
				Plain("Revoke this access?"),
				Mrkdwn(fmt.Sprintf("AccessOwl will remove %s's access to %s. This cannot be undone from Slack.",
					Escape(r.Grantee.Name), accessText(r))),
				Plain("Revoke access"),
				Plain("Cancel")))
		reject := slack.NewButtonBlockElement(ActionReject, buttonValue, Plain("Reject")).
			WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(decisionBlock, approve, reject))
	}
	return []slack.MsgOption{
		slack.MsgOptionText(fmt.Sprintf("Access revocation request: %s's access to %s, asked by %s. %s",
			Escape(r.Grantee.Name), accessText(r), Mention(r.RequesterID), status), false),
		slack.MsgOptionBlocks(blocks...),
	}
}

// requestFields are the approval message's fields: whose access, to what, who asked and why.
func requestFields(r store.Request) []*slack.TextBlockObject {
	fields := []*slack.TextBlockObject{Mrkdwn("*Person*\n" + person(r.Grantee))}
	if len(r.Items) == 1 {
		it := r.Items[0]
		fields = append(fields,
			Mrkdwn("*Application*\n"+Escape(it.ApplicationTitle)),
			Mrkdwn("*Resource*\n"+resource(it)),
			Mrkdwn("*Permissions*\n"+permissions(it.Permissions)))
	} else {
		labels := make([]string, len(r.Items))
		for i, it := range r.Items {
			labels[i] = Escape(it.Label())
		}
		fields = append(fields, Mrkdwn(fmt.Sprintf("*Accesses (%d)*\n%s", len(r.Items), truncate(strings.Join(labels, "\n"), maxFieldText))))
	}
	return append(fields,
		Mrkdwn("*Requested by*\n"+Mention(r.RequesterID)),
		Mrkdwn("*Reason*\n"+truncate(Escape(r.Reason), maxFieldText)))
}

// StatusLine says in one sentence where a request stands.
func StatusLine(r store.Request) string {
	switch r.State {
	case store.Pending:
		return "Waiting for an approver."
	case store.Rejected:
		return fmt.Sprintf(":x: Rejected by %s. The access stays.", Mention(r.DecidedBy))
	case store.Expired:
		return ":hourglass: Expired: no approver decided in time. The access stays."
	}
	approved := fmt.Sprintf(":white_check_mark: Approved by %s.", Mention(r.DecidedBy))
	if len(r.Items) != 1 {
		return approved + " " + progress(r.Items)
	}
	it := r.Items[0]
	switch {
	case it.Refusal != "":
		return fmt.Sprintf("%s AccessOwl refused the revocation: %s", approved, Escape(it.Refusal))
	case it.Status == "":
		return approved + " Submitting to AccessOwl…"
	case it.Status == apiclient.RevocationRevoked:
		return approved + " Status: *revoked* — the access is gone."
	case it.Status == apiclient.RevocationRejected:
		return approved + " Status: *rejected* — AccessOwl did not remove the access."
	default:
		return fmt.Sprintf("%s Status: *%s*.", approved, Escape(string(it.Status)))
	}
}

// progress counts where the items of a request stand.
func progress(items []store.Item) string {
	var revoked, rejected, refused, processing, waiting int
	for _, it := range items {
		switch {
		case it.Refusal != "":
			refused++
		case it.Status == apiclient.RevocationRevoked:
			revoked++
		case it.Status == apiclient.RevocationRejected:
			rejected++
		case it.Status != "":
			processing++
		default:
			waiting++
		}
	}
	parts := []string{fmt.Sprintf("%d of %d revoked", revoked, len(items))}
	for _, p := range []struct {
		n    int
		text string
	}{{processing, "being removed"}, {waiting, "being submitted"}, {rejected, "rejected"}, {refused, "refused by AccessOwl"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.text))
		}
	}
	return strings.Join(parts, " · ") + "."
}

// ThreadReply is the thread reply about e. Its metadata names the reply's key, so a restarted bot can
// find it in the thread; a status reply also names its revocation and status.
func ThreadReply(r store.Request, e revoke.Event) []slack.MsgOption {
	payload := map[string]any{"request_id": r.ID.String(), "key": e.Key()}
	if e.Kind == revoke.StatusChanged {
		payload["revocation_id"], payload["status"] = e.RevocationID, string(e.Status)
	}
	return []slack.MsgOption{
		slack.MsgOptionText(replyText(r, e), false),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: ReplyMetadataType, EventPayload: payload}),
	}
}

func replyText(r store.Request, e revoke.Event) string {
	switch e.Kind {
	case revoke.RequestRejected:
		return fmt.Sprintf("%s rejected this request. %s, the access stays.", Mention(r.DecidedBy), Mention(r.RequesterID))
	case revoke.AccessRefused:
		return fmt.Sprintf("AccessOwl refused the revocation%s: %s %s, nothing was revoked.",
			itemSuffix(r, e.Item), Escape(e.Item.Refusal), Mention(r.RequesterID))
	case revoke.RequestExpired:
		return fmt.Sprintf("%s This request expired: no approver decided in time, so %s keeps access to %s. Ask again with `/revoke` if it is still needed.",
			Mention(r.RequesterID), Escape(r.Grantee.Name), accessText(r))
	}
	switch e.Status {
	case apiclient.RevocationProcessing:
		return fmt.Sprintf("Revocation submitted to AccessOwl (`%s`)%s. Status: *processing_access* — waiting for the access to be removed.",
			Escape(e.RevocationID), itemSuffix(r, e.Item))
	case apiclient.RevocationRevoked:
		return fmt.Sprintf("%s Status: *revoked* — %s's access to %s is gone.", Mention(r.RequesterID), Escape(r.Grantee.Name), itemText(e.Item))
	case apiclient.RevocationRejected:
		return fmt.Sprintf("%s Status: *rejected* — AccessOwl did not remove %s's access to %s; it stays.", Mention(r.RequesterID), Escape(r.Grantee.Name), itemText(e.Item))
	default:
		return fmt.Sprintf("Status: *%s*.", Escape(string(e.Status)))
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
		text = "the access"
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
	default:
		return "`" + Escape(p.AccessOwlID) + "`"
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
