package commands

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
)

const stateID = "3f2b1c9e-7a4d-4e1b-9c2a-5d8e6f7a8b9c"

func TestParseAcceptsEveryForm(t *testing.T) {
	id := uuid.MustParse(stateID)
	tests := []struct {
		name string
		text string
		want Command
	}{
		{"no text opens the modal", "", OpenModal{}},
		{"only spaces open the modal", "  \t ", OpenModal{}},
		{"help", "help", Help{}},
		{"help in any case", "HELP", Help{}},
		{"status with a revocation ID", "status " + stateID, Status{RevocationID: id}},
		{"status keyword in any case", "Status  " + stateID + " ", Status{RevocationID: id}},
		{"access state ID and reason", stateID + " left the company", ByAccessState{AccessStateID: id, Reason: "left the company"}},
		{"upper-case ID", strings.ToUpper(stateID) + " moved team", ByAccessState{AccessStateID: id, Reason: "moved team"}},
		{"reason keeps inner spacing and newlines", stateID + " left.\nSee ticket  42", ByAccessState{AccessStateID: id, Reason: "left.\nSee ticket  42"}},
		{"escaped mention with name", "<@U012AB3CD|alex> github left the team", ByPerson{Person: Mention{UserID: "U012AB3CD", Handle: "alex"}, Application: "github", Reason: "left the team"}},
		{"escaped mention without name", "<@U012AB3CD> github left", ByPerson{Person: Mention{UserID: "U012AB3CD"}, Application: "github", Reason: "left"}},
		{"enterprise grid user ID", "<@W0123ABC|sam> figma contractor ended", ByPerson{Person: Mention{UserID: "W0123ABC", Handle: "sam"}, Application: "figma", Reason: "contractor ended"}},
		{"unescaped mention keeps the handle", "@alex github left", ByPerson{Person: Mention{Handle: "alex"}, Application: "github", Reason: "left"}},
		{"quoted application with spaces", `<@U1|alex> "Google Workspace" left`, ByPerson{Person: Mention{UserID: "U1", Handle: "alex"}, Application: "Google Workspace", Reason: "left"}},
		{"typographic quotes", "<@U1|alex> “Google Workspace” left", ByPerson{Person: Mention{UserID: "U1", Handle: "alex"}, Application: "Google Workspace", Reason: "left"}},
		{"reason's Slack markup becomes plain text", stateID + " asked by <@U9|kim> in <#C1|it> &amp; <https://t.example/42|ticket 42>", ByAccessState{AccessStateID: id, Reason: "asked by @kim in #it & ticket 42"}},
		{"offboarding", "all <@U012AB3CD|alex> left the company", AllOf{Person: Mention{UserID: "U012AB3CD", Handle: "alex"}, Reason: "left the company"}},
		{"offboarding keyword in any case", "ALL @alex moved on", AllOf{Person: Mention{Handle: "alex"}, Reason: "moved on"}},
		{"reason of exactly 255 characters", stateID + " " + strings.Repeat("é", 255), ByAccessState{AccessStateID: id, Reason: strings.Repeat("é", 255)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseExplainsHowToFixBadInput(t *testing.T) {
	tests := []struct {
		name string
		text string
		// problem and fix are fragments the answer must contain.
		problem, fix string
	}{
		{"access state without a reason", stateID, "give a reason", usageByState},
		{"person without an application", "<@U1|alex>", "Which application?", usageByPerson},
		{"person and application without a reason", "<@U1|alex> github", "give a reason", usageByPerson},
		{"reason over 255 characters", stateID + " " + strings.Repeat("x", 256), "256 characters long", "Shorten"},
		{"malformed access state ID", "3f2b1c9e-7a4d-4e1b-9c2a", "not a valid access state ID", usageByState},
		{"braced UUID is not an AccessOwl ID", "{" + stateID + "} left", "I did not understand", usageByPerson},
		{"status without an ID", "status", "Which revocation?", usageStatus},
		{"status with a malformed ID", "status 1234abcd", "not a valid revocation ID", usageStatus},
		{"status with extra words", "status " + stateID + " please", "nothing after it", usageStatus},
		{"a name without @", "alex github left", "I did not understand `alex`", "mention them"},
		{"a lone @", "@ github left", "not a person I can look up", "pick the person"},
		{"a channel instead of a person", "<#C1|general> github left", "I did not understand `#general`", usageByPerson},
		{"unclosed quote", `<@U1|alex> "Google Workspace left`, "no closing one", `"Google Workspace"`},
		{"empty quoted application", `<@U1|alex> "" left`, "Which application?", usageByPerson},
		{"all without a person", "all", "needs the person", usageAll},
		{"all with a name without @", "all alex left", "not a person I can look up", usageAll},
		{"all without a reason", "all <@U1|alex>", "give a reason", usageAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("Parse(%q) = %#v, %v; want an *InputError", tt.text, got, err)
			}
			if !strings.Contains(inputErr.Problem, tt.problem) {
				t.Errorf("problem %q does not say %q", inputErr.Problem, tt.problem)
			}
			if !strings.Contains(inputErr.Fix, tt.fix) {
				t.Errorf("fix %q does not say %q", inputErr.Fix, tt.fix)
			}
		})
	}
}

func TestHelpTextNamesEveryForm(t *testing.T) {
	for _, usage := range []string{usageByState, usageByPerson, usageStatus, usageAll, "`/revoke`"} {
		if !strings.Contains(HelpText, usage) {
			t.Errorf("help text lacks %s", usage)
		}
	}
}

// FuzzParse checks what must hold for any text: Parse never panics, every error is an
// *InputError with words for the person, and every command it accepts is one AccessOwl would
// accept the shape of.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "help", "status " + stateID, stateID + " left", "<@U1|alex> github left",
		`<@U1|alex> "Google Workspace" left`, "<@U1|alex> “Figma” moved", "@alex github left",
		stateID + " <https://x|y> &amp;", "status", `<@U1> "`, "\u00a0" + stateID + "\u2003reason",
		"all <@U1|alex> left", "all", "all alex left", "all <@U1>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := Parse(text)
		if err != nil {
			var inputErr *InputError
			if !errors.As(err, &inputErr) || inputErr.Problem == "" {
				t.Fatalf("Parse(%q) error %v is not an *InputError with a problem", text, err)
			}
			return
		}
		switch c := cmd.(type) {
		case OpenModal, Help, Status:
		case ByAccessState:
			checkReason(t, text, c.Reason)
		case AllOf:
			if c.Person.UserID == "" && c.Person.Handle == "" {
				t.Fatalf("Parse(%q) names nobody: %#v", text, c)
			}
			checkReason(t, text, c.Reason)
		case ByPerson:
			if c.Person.UserID == "" && c.Person.Handle == "" {
				t.Fatalf("Parse(%q) names nobody: %#v", text, c)
			}
			if strings.TrimSpace(c.Application) == "" {
				t.Fatalf("Parse(%q) has no application: %#v", text, c)
			}
			checkReason(t, text, c.Reason)
		default:
			t.Fatalf("Parse(%q) returned %T", text, cmd)
		}
	})
}

func checkReason(t *testing.T, text, reason string) {
	t.Helper()
	n := utf8.RuneCountInString(reason)
	if n < 1 || n > apiclient.MaxReasonLength || strings.TrimSpace(reason) != reason {
		t.Fatalf("Parse(%q) accepted reason %q (%d runes)", text, reason, n)
	}
}
