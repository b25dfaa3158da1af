package interactions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/bot"
	"revokebot/commands"
	"revokebot/store"
)

// The modal's IDs. The access block's ID names the chosen person, so choosing someone else
// clears the access picked for the previous one.
const (
	modalCallback     = "revokebot_request"
	blockPerson       = "person"
	actionPerson      = "person"
	blockAccessPrefix = "access:"
	actionAccess      = "access"
	blockReason       = "reason"
	actionReason      = "reason"
	// maxStaticOptions is Slack's limit for a static_select; more accesses than that are offered
	// through an external_select that searches them.
	maxStaticOptions = 100
	// maxOptionText is Slack's limit on an option's text.
	maxOptionText = 75
)

// openModal opens the request form for /revoke with no text.
func (h *Handler) openModal(ctx context.Context, cmd slack.SlashCommand) {
	view := requestModal("", nil, "")
	if _, err := h.Slack.OpenViewContext(ctx, cmd.TriggerID, view); err != nil {
		h.Log.Error("could not open the request form", "user", cmd.UserID, "error", err)
		h.respond(ctx, cmd.ResponseURL, "", "I could not open the request form (Slack said: "+bot.Escape(err.Error())+"). Please run `/revoke` again.")
	}
}

// choosePerson loads the chosen person's active access into the form.
func (h *Handler) choosePerson(ctx context.Context, cb slack.InteractionCallback, slackID string) {
	var (
		access []store.Request
		note   string
	)
	person, err := h.Resolver.Person(ctx, slackID)
	if err == nil {
		access, err = h.Resolver.ActiveAccess(ctx, person)
	}
	var input *commands.InputError
	switch {
	case errors.As(err, &input):
		note = input.Problem
	case err != nil:
		h.Log.Error("could not load access for the form", "request_id", formRequestID(cb), "user", slackID, "error", err)
		note = "I could not reach AccessOwl to list their access. Choose the person again in a moment."
	case len(access) == 0:
		note = fmt.Sprintf("%s has no active access in AccessOwl: there is nothing to revoke.", bot.Escape(nameOf(person)))
	}
	view := requestModal(slackID, access, note)
	// The hash makes Slack refuse this update if the form changed meanwhile (the person chose
	// someone else): the newer choice's update wins.
	if _, err := h.Slack.UpdateViewContext(ctx, view, "", cb.View.Hash, cb.View.ID); err != nil {
		if strings.Contains(err.Error(), "hash_conflict") {
			return
		}
		h.Log.Warn("could not update the request form", "request_id", formRequestID(cb), "view_id", cb.View.ID, "error", err)
	}
}

// suggestAccess answers the access search of a person with more accesses than a static list
// holds.
func (h *Handler) suggestAccess(cb slack.InteractionCallback) bot.Reply {
	slackID := strings.TrimPrefix(cb.BlockID, blockAccessPrefix)
	query := strings.ToLower(cb.Value)
	return bot.Reply{
		Fallback: slack.OptionsResponse{},
		Payload: func(ctx context.Context) any {
			person, err := h.Resolver.Person(ctx, slackID)
			if err != nil {
				return slack.OptionsResponse{}
			}
			access, err := h.Resolver.ActiveAccess(ctx, person)
			if err != nil {
				h.Log.Warn("could not list access for a search", "request_id", formRequestID(cb), "user", slackID, "error", err)
				return slack.OptionsResponse{}
			}
			var options []*slack.OptionBlockObject
			for _, a := range access {
				if len(options) == maxStaticOptions {
					break
				}
				if strings.Contains(strings.ToLower(commands.Label(a)), query) {
					options = append(options, accessOption(a))
				}
			}
			return slack.OptionsResponse{Options: options}
		},
	}
}

// submitModal validates the form in the ack — errors are shown inline — and, once it is valid,
// creates the request. The form's view ID names the request, so submitting the same form again
// after an error is the same request.
func (h *Handler) submitModal(cb slack.InteractionCallback) bot.Reply {
	id := uuid.NewSHA1(requestNamespace, []byte("view:"+cb.View.ID))
	// Slack always sends the form's state, but a payload without it must not panic the read loop.
	var values map[string]map[string]slack.BlockAction
	if cb.View.State != nil {
		values = cb.View.State.Values
	}
	slackID := values[blockPerson][actionPerson].SelectedUser
	accessBlock := blockAccessPrefix + slackID
	stateID := values[accessBlock][actionAccess].SelectedOption.Value
	reason := strings.TrimSpace(values[blockReason][actionReason].Value)

	if errs := formErrors(slackID, accessBlock, stateID, reason); len(errs) > 0 {
		return bot.Reply{Ack: slack.NewErrorsViewSubmissionResponse(errs)}
	}
	accepted := make(chan store.Request, 1)
	return bot.Reply{
		RequestID: id.String(),
		Fallback: slack.NewErrorsViewSubmissionResponse(map[string]string{
			accessBlock: "AccessOwl is slow to answer right now. Please submit again.",
		}),
		Payload: func(ctx context.Context) any {
			target, err := h.Resolver.AccessState(ctx, stateID)
			var input *commands.InputError
			switch {
			case errors.As(err, &input):
				return slack.NewErrorsViewSubmissionResponse(map[string]string{accessBlock: input.Problem})
			case errors.Is(err, commands.ErrStateUnknown):
				return slack.NewErrorsViewSubmissionResponse(map[string]string{accessBlock: "This access is no longer listed in AccessOwl. Choose the person again to refresh the list."})
			case err != nil:
				h.Log.Error("could not check the chosen access", "request_id", id.String(), "error", err)
				return slack.NewErrorsViewSubmissionResponse(map[string]string{accessBlock: "I could not reach AccessOwl to check this access. Please submit again."})
			}
			if target.Grantee.SlackID == "" {
				target.Grantee.SlackID = slackID
			}
			accepted <- h.newRequest(id, cb.User.ID, target, reason)
			return nil // an empty ack closes the form
		},
		Work: func(ctx context.Context) {
			select {
			case r := <-accepted:
				h.createRequest(ctx, r, func(text string) { h.tellPrivately(ctx, cb.User.ID, r.ID.String(), text) })
			default:
				// The form was answered with errors (or too late): the person submits again.
			}
		},
	}
}

// formErrors checks the form's fields, keyed by the block that shows each error.
func formErrors(slackID, accessBlock, stateID, reason string) map[string]string {
	errs := map[string]string{}
	if slackID == "" {
		errs[blockPerson] = "Choose whose access to revoke."
	} else if stateID == "" {
		errs[accessBlock] = "Choose the access to revoke."
	}
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		errs[blockReason] = "Give a reason: AccessOwl records it with the revocation."
	case n > commands.MaxReasonLength:
		errs[blockReason] = fmt.Sprintf("The reason is %d characters long; AccessOwl takes at most %d.", n, commands.MaxReasonLength)
	}
	return errs
}

// tellPrivately sends the requester of a form the outcome in a direct message, since a form has
// no response_url.
func (h *Handler) tellPrivately(ctx context.Context, user, requestID, text string) {
	im, _, _, err := h.Slack.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		h.Log.Warn("could not open a direct message", "request_id", requestID, "user", user, "error", err)
		return
	}
	if _, err := h.Output.Post(ctx, im.ID, slack.MsgOptionText(text, false)); err != nil {
		h.Log.Warn("could not send a direct message", "request_id", requestID, "user", user, "error", err)
	}
}

// requestModal is the request form: the person, their active access once chosen, the reason.
func requestModal(slackID string, access []store.Request, note string) slack.ModalViewRequest {
	personSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose a person"), actionPerson)
	if slackID != "" {
		personSelect.InitialUser = slackID
	}
	personBlock := slack.NewInputBlock(blockPerson, plain("Whose access?"), nil, personSelect)
	personBlock.DispatchAction = true
	blocks := []slack.Block{personBlock}

	switch {
	case note != "":
		blocks = append(blocks, slack.NewContextBlock("note", mrkdwn(note)))
	case slackID == "":
		blocks = append(blocks, slack.NewContextBlock("note", mrkdwn("Choose a person to see their active access.")))
	case len(access) > maxStaticOptions:
		minQuery := 0
		search := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Search their access"), actionAccess)
		search.MinQueryLength = &minQuery
		blocks = append(blocks, slack.NewInputBlock(blockAccessPrefix+slackID, plain("Which access?"), nil, search))
	default:
		options := make([]*slack.OptionBlockObject, len(access))
		for i, a := range access {
			options[i] = accessOption(a)
		}
		blocks = append(blocks, slack.NewInputBlock(blockAccessPrefix+slackID, plain("Which access?"), nil,
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose an access"), actionAccess, options...)))
	}

	reason := slack.NewPlainTextInputBlockElement(plain("Why should this access go? AccessOwl records it."), actionReason)
	reason.Multiline = true
	blocks = append(blocks, slack.NewInputBlock(blockReason, plain("Reason"),
		plain(fmt.Sprintf("At most %d characters.", commands.MaxReasonLength)), reason))

	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: modalCallback,
		Title:      plain("Revoke access"),
		Submit:     plain("Request"),
		Close:      plain("Cancel"),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

func accessOption(a store.Request) *slack.OptionBlockObject {
	label := commands.Label(a)
	if utf8.RuneCountInString(label) > maxOptionText {
		label = string([]rune(label)[:maxOptionText-1]) + "…"
	}
	return slack.NewOptionBlockObject(a.AccessStateID, plain(label), nil)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// formRequestID is the ID submitModal gives the request a form creates: its log lines carry it
// from the first choice on, so one ID follows the request from form to revocation.
func formRequestID(cb slack.InteractionCallback) string {
	return uuid.NewSHA1(requestNamespace, []byte("view:"+cb.View.ID)).String()
}
