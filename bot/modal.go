package bot

import (
	"fmt"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/store"
)

// The request form's IDs. The access block's ID names the chosen person, so choosing someone
// else clears the access picked for the previous one.
const (
	ModalCallback     = "revokebot_request"
	BlockPerson       = "person"
	ActionPerson      = "person"
	BlockAccessPrefix = "access:"
	ActionAccess      = "access"
	BlockReason       = "reason"
	ActionReason      = "reason"
	// MaxStaticOptions is Slack's limit for a static_select; more accesses than that are offered
	// through an external_select that searches them.
	MaxStaticOptions = 100
	// AccessAll is the value of the form's first choice, every access of the person: an
	// offboarding in one request.
	AccessAll = "all"
)

// RequestModal is the request form: the person, their active access once chosen, the reason.
// note, if set, replaces the access list with a sentence (no access, a lookup that failed).
func RequestModal(slackID string, access []store.Item, note string) slack.ModalViewRequest {
	personSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, Plain("Choose a person"), ActionPerson)
	if slackID != "" {
		personSelect.InitialUser = slackID
	}
	personBlock := slack.NewInputBlock(BlockPerson, Plain("Whose access?"), nil, personSelect)
	personBlock.DispatchAction = true
	blocks := []slack.Block{personBlock}

	switch {
	case note != "":
		blocks = append(blocks, slack.NewContextBlock("note", Mrkdwn(note)))
	case slackID == "":
		blocks = append(blocks, slack.NewContextBlock("note", Mrkdwn("Choose a person to see their active access.")))
	case len(access)+1 > MaxStaticOptions:
		minQuery := 0
		search := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, Plain("Search their access"), ActionAccess)
		search.MinQueryLength = &minQuery
		blocks = append(blocks, slack.NewInputBlock(BlockAccessPrefix+slackID, Plain("Which access?"), nil, search))
	default:
		options := []*slack.OptionBlockObject{AllOption(len(access))}
		for _, a := range access {
			options = append(options, AccessOption(a))
		}
		blocks = append(blocks, slack.NewInputBlock(BlockAccessPrefix+slackID, Plain("Which access?"), nil,
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, Plain("Choose an access"), ActionAccess, options...)))
	}

	reason := slack.NewPlainTextInputBlockElement(Plain("Why should this access go? AccessOwl records it."), ActionReason)
	reason.Multiline = true
	blocks = append(blocks, slack.NewInputBlock(BlockReason, Plain("Reason"),
		Plain(fmt.Sprintf("At most %d characters.", apiclient.MaxReasonLength)), reason))

	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ModalCallback,
		Title:      Plain("Revoke access"),
		Submit:     Plain("Request"),
		Close:      Plain("Cancel"),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

// AccessOption is an access as the form offers it: its label, cut to Slack's option length.
func AccessOption(it store.Item) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(it.AccessStateID, Plain(truncate(it.Label(), maxOptionText)), nil)
}

// AllOption is the form's first choice: every access of the person, count of them.
func AllOption(count int) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(AccessAll, Plain(fmt.Sprintf("All of their access (%d)", count)), nil)
}
