package interactions

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/bot"
	"revokebot/commands"
	"revokebot/store"
)

// ActionChooseAccess is the button of one access among several that `/revoke @person <app>`
// matched: clicking it asks for that access, with the command's reason.
const ActionChooseAccess = "revokebot_choose_access"

// choice is what a choice's button carries: the access state and the command's reason (at most
// 255 characters, well within a button value's 2,000).
type choice struct {
	AccessStateID string `json:"s"`
	Reason        string `json:"r"`
}

// choicesMessage asks which of several matching accesses to revoke, one button each. Its text,
// for notifications, lists the command of each instead.
func choicesMessage(person store.Person, app string, matches []store.Item, reason string) []slack.MsgOption {
	blocks := []slack.Block{slack.NewSectionBlock(bot.Mrkdwn(fmt.Sprintf("%s has %d active accesses matching “%s”. Which one should go?",
		bot.Escape(nameOf(person)), len(matches), bot.Escape(app))), nil, nil)}
	for i, m := range matches {
		if i == maxChoices {
			blocks = append(blocks, slack.NewContextBlock("", bot.Mrkdwn(fmt.Sprintf(
				"…and %d more: name the application more precisely, or use `/revoke` alone to pick from a list.", len(matches)-maxChoices))))
			break
		}
		value, _ := json.Marshal(choice{AccessStateID: m.AccessStateID, Reason: reason})
		button := slack.NewButtonBlockElement(ActionChooseAccess, string(value), bot.Plain("Request this"))
		blocks = append(blocks, slack.NewSectionBlock(bot.Mrkdwn("• "+bot.Escape(m.Label())), nil, slack.NewAccessory(button)))
	}
	return []slack.MsgOption{slack.MsgOptionText(choicesText(person, app, matches, reason), false), slack.MsgOptionBlocks(blocks...)}
}

// chooseAccess answers a click on a choice: the request is made as `/revoke <id> <reason>` would
// make it, and its answer replaces the choices. The click's trigger names the request, so a
// redelivered click is the same request.
func (h *Handler) chooseAccess(cb slack.InteractionCallback, value string) bot.Reply {
	var c choice
	err := json.Unmarshal([]byte(value), &c)
	var stateID uuid.UUID
	if err == nil {
		stateID, err = uuid.Parse(c.AccessStateID)
	}
	if err != nil || c.Reason == "" {
		h.Log.Warn("ignored a choice revokebot cannot read", "user", cb.User.ID, "error", err)
		return bot.Reply{}
	}
	if ok, wait := h.requests.allow(cb.User.ID, h.Now()); !ok {
		h.Log.Info("refused: too many from one person", "user", cb.User.ID, "kind", "requests", "retry_in", wait)
		return bot.Reply{Work: func(ctx context.Context) {
			h.respond(ctx, cb.ResponseURL, "", h.requests.slowDownText("requests", wait))
		}}
	}
	id := uuid.NewSHA1(requestNamespace, []byte("choice:"+cb.TriggerID))
	cmd := slack.SlashCommand{UserID: cb.User.ID, ResponseURL: cb.ResponseURL}
	return bot.Reply{RequestID: id.String(), Priority: bot.PriorityHigh, Work: func(ctx context.Context) {
		h.requestByState(ctx, id, cmd, commands.ByAccessState{AccessStateID: stateID, Reason: c.Reason})
	}}
}
