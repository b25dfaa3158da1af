package interactions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/commands"
	"revokebot/store"
)

// openModal opens the request form for /revoke with no text.
func (h *Handler) openModal(ctx context.Context, cmd slack.SlashCommand) {
	view := bot.RequestModal("", nil, "")
	if _, err := h.Slack.OpenViewContext(ctx, cmd.TriggerID, view); err != nil {
		h.Log.Error("could not open the request form", "user", cmd.UserID, "error", err)
		h.respond(ctx, cmd.ResponseURL, "", "I could not open the request form (Slack said: "+bot.Escape(err.Error())+"). Please run `/revoke` again.")
	}
}

// personLookupWait bounds how long the form says it is looking up a chosen person's access:
// past it, it says AccessOwl is slow instead, rather than look busy for ever.
const personLookupWait = 8 * time.Second

// choosePerson loads the chosen person's active access into the form. The form says at once that
// the list is coming, since AccessOwl may take seconds.
func (h *Handler) choosePerson(ctx context.Context, cb slack.InteractionCallback, slackID string) {
	hash, ok := h.updateForm(ctx, cb, cb.View.Hash, bot.RequestModal(slackID, nil,
		fmt.Sprintf(":hourglass_flowing_sand: Looking up %s's active access in AccessOwl…", bot.Mention(slackID))))
	if !ok {
		return // the person chose someone else meanwhile
	}
	var (
		access []store.Item
		note   string
	)
	lookupCtx, cancel := context.WithTimeout(ctx, personLookupWait)
	defer cancel()
	person, err := h.Resolver.Person(lookupCtx, slackID)
	if err == nil {
		access, err = h.Resolver.ActiveAccess(lookupCtx, person)
	}
	var input *commands.InputError
	switch {
	case errors.As(err, &input):
		note = input.Problem
	case err != nil && lookupCtx.Err() != nil && ctx.Err() == nil:
		h.Log.Warn("lookup for the form took too long", "request_id", formRequestID(cb), "wait", personLookupWait, "error", err)
		note = "AccessOwl is slow to answer right now, so their access could not be listed. Choose the person again in a moment."
	case err != nil:
		note = h.lookupFailure(formRequestID(cb), err)
	case len(access) == 0:
		note = fmt.Sprintf("%s has no active access in AccessOwl: there is nothing to revoke.", bot.Escape(nameOf(person)))
	}
	h.updateForm(ctx, cb, hash, bot.RequestModal(slackID, access, note))
}

// showNote shows note in the form in place of the chosen person's access.
func (h *Handler) showNote(ctx context.Context, cb slack.InteractionCallback, slackID, note string) {
	h.updateForm(ctx, cb, cb.View.Hash, bot.RequestModal(slackID, nil, note))
}

// updateForm replaces the form if it is still the one of hash, and returns the new hash; ok is
// false when the form changed meanwhile or could not be updated.
func (h *Handler) updateForm(ctx context.Context, cb slack.InteractionCallback, hash string, view slack.ModalViewRequest) (newHash string, ok bool) {
	// The hash makes Slack refuse this update if the form changed meanwhile (the person chose
	// someone else): the newer choice's update wins.
	res, err := h.Slack.UpdateViewContext(ctx, view, "", hash, cb.View.ID)
	if err != nil {
		if bot.SlackErrorCode(err) != "hash_conflict" {
			h.Log.Warn("could not update the request form", "request_id", formRequestID(cb), "view_id", cb.View.ID, "error", err)
		}
		return "", false
	}
	if res == nil {
		return "", true
	}
	return res.View.Hash, true
}

// suggestAccess answers the access search of a person with more accesses than a static list
// holds.
func (h *Handler) suggestAccess(cb slack.InteractionCallback) bot.Reply {
	slackID := strings.TrimPrefix(cb.BlockID, bot.BlockAccessPrefix)
	query := strings.ToLower(cb.Value)
	return bot.Reply{
		Priority: bot.PriorityLow,
		Fallback: slack.OptionsResponse{},
		Payload: func(ctx context.Context) (any, func(context.Context)) {
			if access, ok := h.Resolver.CachedAccess(slackID); ok {
				return accessOptions(access, query), nil
			}
			if ok, wait := h.lookups.allow(cb.User.ID, h.Now()); !ok {
				h.Log.Info("refused: too many from one person", "user", cb.User.ID, "kind", "lookups", "retry_in", wait)
				return slack.OptionsResponse{}, nil
			}
			person, err := h.Resolver.Person(ctx, slackID)
			if err != nil {
				return slack.OptionsResponse{}, nil
			}
			access, err := h.Resolver.RecentAccess(ctx, person)
			if err != nil {
				h.lookupFailure(formRequestID(cb), err) // an option list has no room for words
				return slack.OptionsResponse{}, nil
			}
			return accessOptions(access, query), nil
		},
	}
}

// accessOptions are the accesses whose label contains query, as many as an option list holds.
func accessOptions(access []store.Item, query string) slack.OptionsResponse {
	var options []*slack.OptionBlockObject
	if all := bot.AllOption(len(access)); strings.Contains(strings.ToLower(all.Text.Text), query) {
		options = append(options, all)
	}
	for _, a := range access {
		if len(options) == bot.MaxStaticOptions {
			break
		}
		if strings.Contains(strings.ToLower(a.Label()), query) {
			options = append(options, bot.AccessOption(a))
		}
	}
	return slack.OptionsResponse{Options: options}
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
	slackID := values[bot.BlockPerson][bot.ActionPerson].SelectedUser
	accessBlock := bot.BlockAccessPrefix + slackID
	stateID := values[accessBlock][bot.ActionAccess].SelectedOption.Value
	reason := strings.TrimSpace(values[bot.BlockReason][bot.ActionReason].Value)

	if errs := formErrors(slackID, accessBlock, stateID, reason); len(errs) > 0 {
		return bot.Reply{Ack: slack.NewErrorsViewSubmissionResponse(errs)}
	}
	formError := func(text string) (any, func(context.Context)) {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{accessBlock: text}), nil
	}
	return bot.Reply{
		RequestID: id.String(),
		Priority:  bot.PriorityHigh,
		Fallback: slack.NewErrorsViewSubmissionResponse(map[string]string{
			accessBlock: "AccessOwl is slow to answer right now. Please submit again.",
		}),
		Payload: func(ctx context.Context) (any, func(context.Context)) {
			if stateID == bot.AccessAll {
				return h.submitAll(ctx, cb, id, slackID, reason, formError)
			}
			grantee, item, err := h.Resolver.AccessState(ctx, stateID)
			var input *commands.InputError
			switch {
			case errors.As(err, &input):
				return formError(input.Problem)
			case errors.Is(err, ErrStateUnknown):
				return formError("This access is no longer listed in AccessOwl. Choose the person again to refresh the list.")
			case err != nil:
				return formError(h.lookupFailure(id.String(), err))
			}
			// The form lists the chosen person's access, but the access state is found by its
			// ID: it must be that person's, or the request would show one person and revoke
			// another's access.
			chosen, err := h.Resolver.Person(ctx, slackID)
			switch {
			case errors.As(err, &input):
				return formError(input.Problem)
			case err != nil:
				return formError(h.lookupFailure(id.String(), err))
			case chosen.AccessOwlID != grantee.AccessOwlID:
				h.lookupFailure(id.String(), fmt.Errorf("%w: the form chose %s (AccessOwl user %s) and access state %s of AccessOwl user %s",
					ErrMismatch, slackID, chosen.AccessOwlID, stateID, grantee.AccessOwlID))
				return formError("This access is not the chosen person's. Choose the person again to refresh the list.")
			}
			grantee.SlackID = slackID
			r := h.newRequest(id, cb.User.ID, grantee, item, reason)
			// An empty ack closes the form; the request is created after it.
			return nil, func(ctx context.Context) {
				h.createRequest(ctx, r, func(text string) { h.tellPrivately(ctx, cb.User.ID, r.ID.String(), text) })
			}
		},
	}
}

// formErrors checks the form's fields, keyed by the block that shows each error.
func formErrors(slackID, accessBlock, stateID, reason string) map[string]string {
	errs := map[string]string{}
	if slackID == "" {
		errs[bot.BlockPerson] = "Choose whose access to revoke."
	} else if stateID == "" {
		errs[accessBlock] = "Choose the access to revoke."
	}
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		errs[bot.BlockReason] = "Give a reason: AccessOwl records it with the revocation."
	case n > apiclient.MaxReasonLength:
		errs[bot.BlockReason] = fmt.Sprintf("The reason is %d characters long; AccessOwl takes at most %d.", n, apiclient.MaxReasonLength)
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

// formRequestID is the ID submitModal gives the request a form creates: its log lines carry it
// from the first choice on, so one ID follows the request from form to revocation.
func formRequestID(cb slack.InteractionCallback) string {
	return uuid.NewSHA1(requestNamespace, []byte("view:"+cb.View.ID)).String()
}
