package bot

import (
	"errors"

	"github.com/slack-go/slack"
)

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
	if s := err.Error(); isSlackCode(s) {
		return s
	}
	return ""
}

// isSlackCode reports whether s has the shape of Slack's error codes: lower case letters,
// digits and underscores, starting with a letter, such as not_in_channel.
func isSlackCode(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
