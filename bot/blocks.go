package bot

import (
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's limits on what a message or view may hold.
const (
	// maxFieldText keeps a section field inside Slack's 2,000-character limit with room to spare.
	maxFieldText = 1900
	// maxOptionText is Slack's limit on an option's text.
	maxOptionText = 75
)

// Plain is a plain_text object, for headers, buttons and form labels.
func Plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Mrkdwn is a mrkdwn text object. Anything people typed in it must be Escaped first.
func Mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// Escape makes text safe inside Slack mrkdwn: a reason or a name cannot become a mention,
// a @channel or a link.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Mention is the mrkdwn that mentions a Slack user by ID, or "someone" when there is none.
func Mention(userID string) string {
	if userID == "" {
		return "someone"
	}
	return "<@" + userID + ">"
}

// Channel is the mrkdwn that links a channel by ID.
func Channel(channelID string) string { return "<#" + channelID + ">" }

// truncate shortens s to at most n characters, ending with an ellipsis when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
