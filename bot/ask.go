package bot

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store"
)

// The IDs of an ask's buttons and of the Could not revoke form.
const (
	ActionMarkRevoked    = "revokebot_mark_revoked"
	ActionCouldNotRevoke = "revokebot_could_not_revoke"
	askBlock             = "revokebot_ask"
	// ReasonCallback is the Could not revoke form; its private_metadata is the button's value.
	ReasonCallback   = "revokebot_could_not_revoke"
	BlockMarkReason  = "reason"
	ActionMarkReason = "reason"
)

// askButtonV1 is the first layout of an ask button's value.
const askButtonV1 = 1

// askButtonValue is what Mark revoked and Could not revoke carry: the request and the
// revocation, which the store is asked about; names are short for Slack's 2,000 bytes.
type askButtonValue struct {
	Version      int    `json:"v"`
	RequestID    string `json:"id"`
	RevocationID string `json:"rv"`
}

// AskButton is what a clicked Mark revoked or Could not revoke names.
type AskButton struct {
	RequestID    uuid.UUID
	RevocationID string
}

// EncodeAskButton returns the value of an ask's buttons.
func EncodeAskButton(requestID uuid.UUID, revocationID string) (string, error) {
	b, err := json.Marshal(askButtonValue{Version: askButtonV1, RequestID: requestID.String(), RevocationID: revocationID})
	if err != nil {
		return "", fmt.Errorf("encode ask button of revocation %s: %w", revocationID, err)
	}
	return string(b), nil
}

// DecodeAskButton reads the value of an ask's button.
func DecodeAskButton(value string) (AskButton, error) {
	if len(value) > maxButtonValue {
		return AskButton{}, fmt.Errorf("button value of %d bytes is over Slack's %d", len(value), maxButtonValue)
	}
	var v askButtonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return AskButton{}, fmt.Errorf("decode ask button value: %w", err)
	}
	if v.Version != askButtonV1 {
		return AskButton{}, fmt.Errorf("ask button value version %d, want %d", v.Version, askButtonV1)
	}
	id, err := uuid.Parse(v.RequestID)
	if err != nil {
		return AskButton{}, fmt.Errorf("ask button request ID: %w", err)
	}
	if v.RevocationID == "" {
		return AskButton{}, fmt.Errorf("ask button names no revocation")
	}
	return AskButton{RequestID: id, RevocationID: v.RevocationID}, nil
}

// Mentions is the mrkdwn that mentions Slack users (U…, W…) and user groups (S…), such as
// REVOKE_APPROVERS.
func Mentions(ids []string) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		if strings.HasPrefix(id, "S") {
			parts = append(parts, "<!subteam^"+id+">")
		} else {
			parts = append(parts, Mention(id))
		}
	}
	return strings.Join(parts, " ")
}

// asked names who an ask or a reminder is for: the people asked, or the approvers.
func (n *Notifier) asked(ids []string) string {
	switch {
	case len(ids) > 0:
		return Mentions(ids)
	case len(n.approvers) > 0:
		return Mentions(n.approvers)
	default:
		return "Approvers"
	}
}

// askText is the ask of an admin-provisioned revocation: who, what to remove where, and — once
// it is final — that it is closed. It never names a status: the status replies do, once each,
// and people and tests count them.
func (n *Notifier) askText(r store.Request, e revoke.Event) string {
	what := fmt.Sprintf("%s's access to %s", Escape(r.Grantee.Name), itemText(e.Item))
	if r.Grantee.Name == "" {
		what = "the access to " + itemText(e.Item)
	}
	by := "in AccessOwl"
	if e.MarkedBy != "" {
		by = "by " + Mention(e.MarkedBy)
	}
	switch e.Status {
	case apiclient.RevocationRevoked:
		return fmt.Sprintf(":white_check_mark: Done: the revocation of %s was marked finished %s, so nothing is left to do here. (Revocation `%s`.)", what, by, Escape(e.RevocationID))
	case apiclient.RevocationRejected:
		return fmt.Sprintf(":x: Closed %s without removing %s; the access stays. (Revocation `%s`.)", by, what, Escape(e.RevocationID))
	}
	return fmt.Sprintf("%s AccessOwl does not remove %s by itself: please remove it in %s, then say so with the first button below — or, if it cannot be removed, the second, with why. (Revocation `%s`.)",
		n.asked(e.Asked), what, Escape(e.Item.ApplicationTitle), Escape(e.RevocationID))
}

// reminderText is a reminder of an undecided request or of a waiting revocation.
func (n *Notifier) reminderText(r store.Request, e revoke.Event) string {
	if e.Kind == revoke.ApproversReminded {
		return fmt.Sprintf(":bell: Reminder: %s, this request still waits for a decision (asked by %s, for %s).",
			n.asked(nil), Mention(r.RequesterID), accessText(r))
	}
	return fmt.Sprintf(":bell: Reminder: %s, %s's access to %s still waits to be removed and marked in AccessOwl (revocation `%s`); the buttons are in this thread.",
		n.asked(e.Asked), Escape(r.Grantee.Name), itemText(e.Item), Escape(e.RevocationID))
}

// askBlocks are the ask's blocks: its text, and while the revocation waits, the buttons.
func (n *Notifier) askBlocks(r store.Request, e revoke.Event) ([]slack.Block, error) {
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(n.askText(r, e)), nil, nil)}
	if e.Status.Done() {
		return blocks, nil
	}
	value, err := EncodeAskButton(r.ID, e.RevocationID)
	if err != nil {
		return nil, err
	}
	mark := slack.NewButtonBlockElement(ActionMarkRevoked, value, Plain("Mark revoked")).WithStyle(slack.StylePrimary)
	refuse := slack.NewButtonBlockElement(ActionCouldNotRevoke, value, Plain("Could not revoke")).WithStyle(slack.StyleDanger)
	return append(blocks, slack.NewActionBlock(askBlock, mark, refuse)), nil
}

// ReasonModal is the Could not revoke form: why the access could not be removed, 1–255
// characters, which AccessOwl records as the rejection's reason. buttonValue names the
// revocation.
func ReasonModal(buttonValue string, it store.Item) slack.ModalViewRequest {
	reason := slack.NewPlainTextInputBlockElement(Plain("Why can the access not be removed?"), ActionMarkReason)
	reason.Multiline = true
	reason.MinLength = 1
	reason.MaxLength = apiclient.MaxReasonLength
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ReasonCallback,
		PrivateMetadata: buttonValue,
		Title:           Plain("Could not revoke"),
		Submit:          Plain("Reject revocation"),
		Close:           Plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewContextBlock("what", Mrkdwn("AccessOwl will record the revocation of "+itemText(it)+" as *rejected*: the access stays.")),
			slack.NewInputBlock(BlockMarkReason, Plain("Reason"), Plain(fmt.Sprintf("At most %d characters.", apiclient.MaxReasonLength)), reason),
		}},
	}
}
