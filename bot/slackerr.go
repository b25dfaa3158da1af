package bot

import (
	"errors"
	"regexp"

	"github.com/slack-go/slack"
)

// slackCode is the shape of Slack's error codes (not_in_channel, hash_conflict…).
var slackCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// SlackErrorCode returns Slack's error code for a call Slack answered with ok:false, such as
// not_in_channel or hash_conflict, and "" for any other error. Callers compare codes, never
// error text.
func SlackErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var slackErr slack.SlackErrorResponse
	if errors.As(err, &slackErr) {
		return slackErr.Err
	}
	// slack-go returns some of Slack's answers as plain errors whose whole text is the code.
	if s := err.Error(); slackCode.MatchString(s) {
		return s
	}
	return ""
}
