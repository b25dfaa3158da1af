package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"revokebot/apiclient"
)

// Command is what a /revoke line asks for: one of OpenModal, Help, Status, ByAccessState and
// ByPerson.
type Command interface{ isCommand() }

// OpenModal is /revoke with no text: the person picks everything in a modal.
type OpenModal struct{}

// Help is /revoke help.
type Help struct{}

// Status is /revoke status <revocation_id>.
type Status struct {
	RevocationID uuid.UUID
}

// ByAccessState is /revoke <access_state_id> <reason…>.
type ByAccessState struct {
	AccessStateID uuid.UUID
	Reason        string
}

// ByPerson is /revoke @person <application> <reason…>.
type ByPerson struct {
	Person      Mention
	Application string
	Reason      string
}

// AllOf is /revoke all @person <reason…>: an offboarding, every access the person has.
type AllOf struct {
	Person Mention
	Reason string
}

// Mention names a Slack user. Slack sends <@U123|name> when the command escapes mentions, as
// revokebot's manifest asks; a client that did not escape sends the bare @name, and only Handle
// is set.
type Mention struct {
	UserID string
	Handle string
}

func (OpenModal) isCommand()     {}
func (Help) isCommand()          {}
func (Status) isCommand()        {}
func (ByAccessState) isCommand() {}
func (ByPerson) isCommand()      {}
func (AllOf) isCommand()         {}

// InputError says what is wrong with a /revoke line and how to fix it. Its text is safe to show
// the person who typed it.
type InputError struct {
	Problem string // what is wrong, in a sentence
	Fix     string // what to type instead
}

func (e *InputError) Error() string {
	if e.Fix == "" {
		return e.Problem
	}
	return e.Problem + "\n" + e.Fix
}

// The usage lines shown in errors and help.
const (
	usageByState  = "`/revoke <access_state_id> <reason>`"
	usageByPerson = "`/revoke @person <application> <reason>`"
	usageStatus   = "`/revoke status <revocation_id>`"
	usageAll      = "`/revoke all @person <reason>`"
)

var (
	// userMention is Slack's escaped user mention: <@U123> or <@U123|name>. W… IDs are
	// Enterprise Grid users.
	userMention = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$`)
	// idAttempt matches a token that is clearly meant as an ID (hex digits and dashes), so a typo
	// in one is answered "malformed ID" rather than "I did not understand".
	idAttempt = regexp.MustCompile(`^[0-9a-fA-F-]{8,}$`)
)

// Parse reads the text after /revoke. Every error it returns is an *InputError.
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return OpenModal{}, nil
	}
	first, rest := nextWord(text)
	switch strings.ToLower(first) {
	case "help", "-h", "--help", "?":
		return Help{}, nil
	case "status":
		return parseStatus(rest)
	case "all":
		return parseAll(rest)
	}
	if strings.HasPrefix(first, "<@") || strings.HasPrefix(first, "@") {
		return parseByPerson(first, rest)
	}
	if id, err := parseID(first); err == nil {
		reason, err := parseReason(rest, usageByState)
		if err != nil {
			return nil, err
		}
		return ByAccessState{AccessStateID: id, Reason: reason}, nil
	}
	if idAttempt.MatchString(first) {
		return nil, malformedID("access state", first, usageByState)
	}
	return nil, &InputError{
		Problem: fmt.Sprintf("I did not understand `%s`.", plainText(first)),
		Fix:     "To name a person, mention them: " + usageByPerson + ". Or give an access state's ID: " + usageByState + ". `/revoke help` shows every form.",
	}
}

func parseStatus(rest string) (Command, error) {
	word, extra := nextWord(rest)
	if word == "" {
		return nil, &InputError{Problem: "Which revocation? The status needs its ID.", Fix: "Try " + usageStatus + "."}
	}
	if extra != "" {
		return nil, &InputError{Problem: "The status takes one revocation ID and nothing after it.", Fix: "Try " + usageStatus + "."}
	}
	id, err := parseID(word)
	if err != nil {
		return nil, malformedID("revocation", word, usageStatus)
	}
	return Status{RevocationID: id}, nil
}

func parseAll(rest string) (Command, error) {
	word, rest := nextWord(rest)
	if word == "" {
		return nil, &InputError{Problem: "Whose access? `all` needs the person.", Fix: "Try " + usageAll + ", for example `/revoke all @alex left the company`."}
	}
	person, ok := parseMention(word)
	if !ok {
		return nil, &InputError{
			Problem: fmt.Sprintf("`%s` is not a person I can look up.", plainText(word)),
			Fix:     "Type @ and pick the person from Slack's list: " + usageAll + ".",
		}
	}
	reason, err := parseReason(rest, usageAll)
	if err != nil {
		return nil, err
	}
	return AllOf{Person: person, Reason: reason}, nil
}

func parseByPerson(first, rest string) (Command, error) {
	person, ok := parseMention(first)
	if !ok {
		return nil, &InputError{
			Problem: fmt.Sprintf("`%s` is not a person I can look up.", plainText(first)),
			Fix:     "Type @ and pick the person from Slack's list: " + usageByPerson + ".",
		}
	}
	app, rest, err := nextApplication(rest)
	if err != nil {
		return nil, err
	}
	if app == "" {
		return nil, &InputError{Problem: "Which application? Name it after the person.", Fix: "Try " + usageByPerson + ", for example `/revoke @alex github left the team`."}
	}
	reason, err := parseReason(rest, usageByPerson)
	if err != nil {
		return nil, err
	}
	return ByPerson{Person: person, Application: app, Reason: reason}, nil
}

func parseMention(word string) (Mention, bool) {
	if m := userMention.FindStringSubmatch(word); m != nil {
		return Mention{UserID: m[1], Handle: m[2]}, true
	}
	handle, ok := strings.CutPrefix(word, "@")
	if !ok || handle == "" || strings.ContainsAny(handle, "<>|@") {
		return Mention{}, false
	}
	return Mention{Handle: handle}, true
}

// nextApplication reads the application: one word, or several in straight or typographic double
// quotes (Slack clients turn " into “ ” as people type).
func nextApplication(s string) (app, rest string, err error) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	open, size := utf8.DecodeRuneInString(s)
	if open != '"' && open != '“' {
		word, rest := nextWord(s)
		return plainText(word), rest, nil
	}
	body := s[size:]
	end := strings.IndexAny(body, "\"”")
	if end < 0 {
		return "", "", &InputError{Problem: "The application's name has an opening quote but no closing one.", Fix: "Try `/revoke @person \"Google Workspace\" <reason>`."}
	}
	_, closeSize := utf8.DecodeRuneInString(body[end:])
	return strings.TrimSpace(plainText(body[:end])), body[end+closeSize:], nil
}

func parseReason(rest, usage string) (string, error) {
	reason := strings.TrimSpace(plainText(rest))
	n := utf8.RuneCountInString(reason)
	switch {
	case n == 0:
		return "", &InputError{Problem: "Please give a reason: AccessOwl records it with the revocation.", Fix: "Try " + usage + "."}
	case n > apiclient.MaxReasonLength:
		return "", &InputError{Problem: fmt.Sprintf("The reason is %d characters long; AccessOwl takes at most %d.", n, apiclient.MaxReasonLength), Fix: "Shorten it and try again."}
	}
	return reason, nil
}

func parseID(word string) (uuid.UUID, error) {
	// uuid.Parse also takes the urn: and braced forms; AccessOwl's IDs are the plain 36-character
	// form, so anything else is a typo.
	if len(word) != 36 {
		return uuid.UUID{}, fmt.Errorf("want 36 characters, got %d", len(word))
	}
	return uuid.Parse(word)
}

func malformedID(what, word, usage string) *InputError {
	return &InputError{
		Problem: fmt.Sprintf("`%s` is not a valid %s ID: IDs look like `3f2b1c9e-7a4d-4e1b-9c2a-5d8e6f7a8b9c`.", plainText(word), what),
		Fix:     "Check it and try " + usage + ".",
	}
}

// nextWord splits s into its first whitespace-separated word and the rest.
func nextWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

var (
	// slackMarkup is Slack's escaped markup in message text: mentions, channels, links.
	slackMarkup   = regexp.MustCompile(`<([^<>]*)>`)
	slackEntities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")
)

// plainText turns Slack's escaped text into what the person saw: <@U1|alex> becomes @alex,
// <#C1|general> becomes #general, <https://x|label> becomes label, and &amp; &lt; &gt; their
// characters. AccessOwl stores plain text, so a reason must not carry Slack's markup.
func plainText(s string) string {
	s = slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if hasLabel {
				return "@" + label
			}
			return target
		case strings.HasPrefix(target, "#"):
			if hasLabel {
				return "#" + label
			}
			return target
		case strings.HasPrefix(target, "!"):
			if hasLabel {
				return label
			}
			return "@" + strings.TrimPrefix(target, "!")
		case hasLabel:
			return label
		default:
			return target
		}
	})
	return slackEntities.Replace(s)
}
