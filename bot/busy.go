package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// What a person is told when the work their envelope needs finds no room in the queue.
const (
	busyText      = "revokebot is busy right now. Please try again in a moment."
	busyFormText  = "revokebot is busy right now, and your request was not sent. Please submit again in a moment."
	busyClickText = "revokebot is busy right now, and your click was not acted on. Please click again in a moment."
)

// BusyAnswer is the ack the session sends, when the worker queue is full, for an envelope whose
// Reply names no Busy answer of its own. A slash command is told to try again; a form
// submission keeps the form open with the word under its reason field, which every request form
// has; an option list comes back empty, since Slack gives it no room for words. A click has no
// text of its own in an ack: the session tells the person through the click's response_url.
func BusyAnswer(kind string) any {
	switch kind {
	case "slash_commands":
		return map[string]any{"response_type": "ephemeral", "text": busyText}
	case string(slack.InteractionTypeViewSubmission):
		return slack.NewErrorsViewSubmissionResponse(map[string]string{BlockReason: busyFormText})
	case string(slack.InteractionTypeBlockSuggestion):
		return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
	}
	return nil
}

// overloaded answers an envelope whose work found no room: in the ack when its kind allows,
// and otherwise through its response_url, off the read loop.
func (s *Session) overloaded(ctx context.Context, req *socketmode.Request, kind string, r Reply, received time.Time, responseURL string) {
	s.log.Warn("worker queue full; told the person to try again", "kind", kind, "priority", r.Priority.String(), "request_id", r.RequestID)
	s.observer.Overloaded(kind)
	busy := r.Busy
	if busy == nil {
		busy = BusyAnswer(kind)
	}
	s.ack(ctx, req, kind, busy, received)
	if busy == nil && responseURL != "" {
		s.tellBusy(ctx, kind, r.RequestID, responseURL)
	}
}

// tellBusy tells a person through response_url that their click was not acted on. It never
// blocks the read loop: the answer runs on one of busyAnswerers goroutines or, when all are
// taken, is dropped with a log line.
func (s *Session) tellBusy(ctx context.Context, kind, requestID, responseURL string) {
	if s.responder == nil {
		return
	}
	select {
	case s.busyAnswers <- struct{}{}:
	default:
		s.log.Warn("too many busy answers in flight; this person is not told", "kind", kind, "request_id", requestID)
		return
	}
	s.answering.Go(func() {
		defer func() { <-s.busyAnswers }()
		ctx, cancel := context.WithTimeout(ctx, busyAnswerTimeout)
		defer cancel()
		if err := s.responder.Respond(ctx, responseURL, slack.MsgOptionText(busyClickText, false)); err != nil {
			s.log.Warn("could not tell a person revokebot is busy", "kind", kind, "request_id", requestID, "error", err)
		}
	})
}
