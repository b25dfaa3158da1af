package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"revokebot/store"
)

// The action IDs of the approval message's buttons, and the block that holds them.
const (
	ActionApprove = "revokebot_approve"
	ActionReject  = "revokebot_reject"
	decisionBlock = "revokebot_decision"
)

// StatusMetadataType marks a thread reply that announces a status, so that after a crash the bot
// can tell from the thread itself whether the reply was already posted.
const StatusMetadataType = "revokebot_status"

// maxFieldText keeps a section field inside Slack's 2,000-character limit with room to spare.
const maxFieldText = 1900

// Progress is where a request stands beyond its decision: what AccessOwl has said so far.
type Progress struct {
	// Status is the revocation's AccessOwl status; empty until it was submitted.
	Status string
	// Refusal is what AccessOwl said when it refused the submission, in words for people.
	Refusal string
}

// ApprovalMessage is the message in the revocations channel for r: who asked, whose access, to
// what, why, and — while the request is pending — the Approve and Reject buttons. buttonValue is
// what both buttons carry.
func ApprovalMessage(r store.Request, p Progress, buttonValue string) []slack.MsgOption {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("Access revocation request")),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Person*\n" + person(r.Grantee)),
			mrkdwn("*Application*\n" + Escape(r.ApplicationTitle)),
			mrkdwn("*Resource*\n" + resource(r)),
			mrkdwn("*Permissions*\n" + permissions(r.Permissions)),
			mrkdwn("*Requested by*\n" + mention(r.RequesterID)),
			mrkdwn("*Reason*\n" + truncate(Escape(r.Reason), maxFieldText)),
		}, nil),
		slack.NewContextBlock("revokebot_status", mrkdwn(StatusLine(r, p))),
	}
	if r.State == store.Pending {
		approve := slack.NewButtonBlockElement(ActionApprove, buttonValue, plain("Approve")).
			WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(
				plain("Revoke this access?"),
				mrkdwn(fmt.Sprintf("AccessOwl will remove %s's access to %s%s. This cannot be undone from Slack.",
					Escape(r.Grantee.Name), Escape(r.ApplicationTitle), resourceSuffix(r))),
				plain("Revoke access"),
				plain("Cancel")))
		reject := slack.NewButtonBlockElement(ActionReject, buttonValue, plain("Reject")).
			WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(decisionBlock, approve, reject))
	}
	return []slack.MsgOption{
		slack.MsgOptionText(fmt.Sprintf("Access revocation request: %s's access to %s%s, asked by %s. %s",
			Escape(r.Grantee.Name), Escape(r.ApplicationTitle), resourceSuffix(r), mention(r.RequesterID), StatusLine(r, p)), false),
		slack.MsgOptionBlocks(blocks...),
	}
}

// StatusLine says in one sentence where a request stands.
func StatusLine(r store.Request, p Progress) string {
	switch r.State {
	case store.Pending:
		return "Waiting for an approver."
	case store.Rejected:
		return fmt.Sprintf(":x: Rejected by %s. The access stays.", mention(r.DecidedBy))
	case store.Expired:
		return ":hourglass: Expired: no approver decided in time. The access stays."
	}
	approved := fmt.Sprintf(":white_check_mark: Approved by %s.", mention(r.DecidedBy))
	switch {
	case p.Refusal != "":
		return fmt.Sprintf("%s AccessOwl refused the revocation: %s", approved, Escape(p.Refusal))
	case p.Status == "":
		return approved + " Submitting to AccessOwl…"
	case p.Status == "revoked":
		return approved + " Status: *revoked* — the access is gone."
	case p.Status == "rejected":
		return approved + " Status: *rejected* — AccessOwl did not remove the access."
	default:
		return fmt.Sprintf("%s Status: *%s*.", approved, Escape(p.Status))
	}
}

// StatusReply is the thread reply announcing a revocation's new status. A final status mentions
// the requester, who is waiting to hear. The metadata lets a restarted bot find the reply.
func StatusReply(r store.Request, revocationID, status string) []slack.MsgOption {
	var text string
	switch status {
	case "processing_access":
		text = fmt.Sprintf("Revocation submitted to AccessOwl (`%s`). Status: *processing_access* — waiting for the access to be removed.", Escape(revocationID))
	case "revoked":
		text = fmt.Sprintf("%s Status: *revoked* — %s's access to %s%s is gone.", mention(r.RequesterID), Escape(r.Grantee.Name), Escape(r.ApplicationTitle), resourceSuffix(r))
	case "rejected":
		text = fmt.Sprintf("%s Status: *rejected* — AccessOwl did not remove %s's access to %s%s; it stays.", mention(r.RequesterID), Escape(r.Grantee.Name), Escape(r.ApplicationTitle), resourceSuffix(r))
	default:
		text = fmt.Sprintf("Status: *%s*.", Escape(status))
	}
	return []slack.MsgOption{
		slack.MsgOptionText(text, false),
		slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType: StatusMetadataType,
			EventPayload: map[string]any{
				"request_id":    r.ID.String(),
				"revocation_id": revocationID,
				"status":        status,
			},
		}),
	}
}

// ExpiredReply is the thread reply of a request nobody decided in time.
func ExpiredReply(r store.Request) []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(fmt.Sprintf(
		"%s This request expired: no approver decided in time, so %s keeps access to %s%s. Ask again with `/revoke` if it is still needed.",
		mention(r.RequesterID), Escape(r.Grantee.Name), Escape(r.ApplicationTitle), resourceSuffix(r)), false)}
}

// Escape makes text safe inside Slack mrkdwn: a reason or a name cannot become a mention,
// a @channel or a link.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func person(p store.Person) string {
	name := Escape(p.Name)
	if name == "" {
		name = Escape(p.Email)
	}
	switch {
	case p.SlackID != "" && p.Email != "":
		return fmt.Sprintf("%s (%s)", mention(p.SlackID), Escape(p.Email))
	case p.SlackID != "":
		return mention(p.SlackID)
	case p.Email != "" && name != Escape(p.Email):
		return fmt.Sprintf("%s (%s)", name, Escape(p.Email))
	case name != "":
		return name
	default:
		return "`" + Escape(p.AccessOwlID) + "`"
	}
}

func resource(r store.Request) string {
	switch {
	case r.ResourceTitle != "":
		return Escape(r.ResourceTitle)
	case r.ResourceID != "":
		return "`" + Escape(r.ResourceID) + "`"
	default:
		return "The whole application"
	}
}

func resourceSuffix(r store.Request) string {
	if r.ResourceTitle == "" {
		return ""
	}
	return " (" + Escape(r.ResourceTitle) + ")"
}

func permissions(titles []string) string {
	if len(titles) == 0 {
		return "—"
	}
	escaped := make([]string, len(titles))
	for i, t := range titles {
		escaped[i] = Escape(t)
	}
	return truncate(strings.Join(escaped, ", "), maxFieldText)
}

func mention(userID string) string {
	if userID == "" {
		return "someone"
	}
	return "<@" + userID + ">"
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// truncate shortens s to at most n characters, ending with an ellipsis when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
