package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/interactions"
	"revokebot/store/sqlite"
)

// checkTimeout bounds each of revokebot check's calls: a service that takes longer is as good as
// unreachable to someone waiting at a terminal.
const checkTimeout = 10 * time.Second

// CheckOutcome is how one of Check's checks ended.
type CheckOutcome int

const (
	// CheckPassed: the setting works.
	CheckPassed CheckOutcome = iota
	// CheckFailed: the setting is wrong; the result's Setting is the one to fix.
	CheckFailed
	// CheckNotRun: the check needs something that failed before it, so it says nothing yet
	// about its setting.
	CheckNotRun
)

// CheckResult is the outcome of one of Check's checks.
type CheckResult struct {
	// Setting names what was checked: the variable to fix when it failed.
	Setting string
	Outcome CheckOutcome
	// Detail says what was found, or what is wrong and how to fix it, or why the check did
	// not run.
	Detail string
}

// OK reports whether the check ran and passed.
func (r CheckResult) OK() bool { return r.Outcome == CheckPassed }

// Check tries cfg against the services it names, the way the bot will use them: Slack accepts
// the bot token (auth.test) and the app-level token (apps.connections.open, which only hands out
// a connection URL), the bot can see REVOKE_CHANNEL_ID and is in it, the approver groups exist,
// AccessOwl accepts its token (one GET /users?limit=1), and DATA_DIR and the store in it are
// writable (a write rolled back) or, with DATABASE_URL, the database answers, has a schema this
// binary knows and can be written (a write rolled back). It changes
// nothing anywhere, and every check runs even after one fails, so one run names every problem;
// only the checks that need a working bot token are reported as not run without one, since
// their answers would blame the wrong setting.
func Check(ctx context.Context, cfg Config, version string) []CheckResult {
	// A transport of its own, closed on return, so nothing is left running.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	api := slack.New(cfg.SlackBotToken.Reveal(), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(hc))

	bot := checkBotToken(ctx, api, cfg.SlackAPIURL)
	results := []CheckResult{bot}
	// Both tokens go to the same URL: when it leads nowhere, a second failure would only repeat
	// the first one under the app token's name.
	if bot.Setting == "SLACK_API_URL" {
		results = append(results, notRun("SLACK_APP_TOKEN", "Slack's Web API could not be reached (SLACK_API_URL)"))
	} else {
		results = append(results, checkAppToken(ctx, api, cfg.SlackAPIURL))
	}
	if bot.OK() {
		results = append(results, checkChannel(ctx, api, cfg.Channel))
		results = append(results, checkApproverGroups(ctx, api, cfg.Approvers)...)
	} else {
		why := "the bot token could not be checked (" + bot.Setting + ")"
		results = append(results, notRun("REVOKE_CHANNEL_ID", why))
		_, groups, _ := interactions.ParseApprovers(cfg.Approvers)
		for _, g := range groups {
			results = append(results, notRun("REVOKE_APPROVERS", why+", so user group "+g+" could not be looked up"))
		}
	}
	results = append(results, checkAccessOwl(ctx, cfg, hc, version), checkStore(ctx, cfg))
	return results
}

func notRun(setting, why string) CheckResult {
	return CheckResult{Setting: setting, Outcome: CheckNotRun, Detail: "not run: " + why}
}

func failed(setting, detail string) CheckResult {
	return CheckResult{Setting: setting, Outcome: CheckFailed, Detail: detail}
}

func passed(setting, detail string) CheckResult {
	return CheckResult{Setting: setting, Outcome: CheckPassed, Detail: detail}
}

// PrintCheck writes results one to a line and a verdict, and reports whether all passed.
func PrintCheck(w io.Writer, results []CheckResult) bool {
	var nFailed, nNotRun int
	for _, r := range results {
		mark := "ok  "
		switch r.Outcome {
		case CheckFailed:
			mark = "FAIL"
			nFailed++
		case CheckNotRun:
			mark = "skip"
			nNotRun++
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, r.Setting, r.Detail)
	}
	if nFailed == 0 && nNotRun == 0 {
		fmt.Fprintln(w, "\nAll is well: revokebot can run with this configuration.")
		return true
	}
	verdict := fmt.Sprintf("%d of %d checks failed", nFailed, len(results))
	switch {
	case nNotRun == 1:
		verdict += " and 1 was not run"
	case nNotRun > 1:
		verdict += fmt.Sprintf(" and %d were not run", nNotRun)
	}
	verdict += ": fix the settings marked FAIL"
	if nNotRun > 0 {
		verdict += ", then run revokebot check again for those marked skip"
	}
	fmt.Fprintln(w, "\n"+verdict+".")
	return false
}

func checkBotToken(ctx context.Context, api *slack.Client, apiURL string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	auth, err := api.AuthTestContext(ctx)
	switch {
	case err != nil:
		if problem := slackUnreachable(apiURL, "auth.test", err); problem != "" {
			return failed("SLACK_API_URL", problem)
		}
		return failed("SLACK_BOT_TOKEN", slackProblem("auth.test", err))
	case auth.UserID == "" && auth.TeamID == "":
		// Slack always says whose token it is; an empty ok answer came from something else.
		return failed("SLACK_API_URL", fmt.Sprintf("%s answered auth.test without naming a user or workspace: it is not Slack's Web API (the default is https://slack.com/api/)", apiURL))
	case auth.BotID == "":
		return failed("SLACK_BOT_TOKEN", fmt.Sprintf("Slack accepts it, but it belongs to user %s, not to a bot: use the Bot User OAuth Token (xoxb-…) of the app", auth.User))
	default:
		return passed("SLACK_BOT_TOKEN", fmt.Sprintf("bot @%s (%s) in workspace %s (%s)", auth.User, auth.UserID, auth.Team, auth.TeamID))
	}
}

func checkAppToken(ctx context.Context, api *slack.Client, apiURL string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	// The URL is single-use and expires unused: asking for one connects nothing.
	if _, _, err := api.StartSocketModeContext(ctx); err != nil {
		if problem := slackUnreachable(apiURL, "apps.connections.open", err); problem != "" {
			return failed("SLACK_API_URL", problem)
		}
		detail := slackProblem("apps.connections.open", err)
		if bot.SlackErrorCode(err) == "not_allowed_token_type" {
			detail += ": this must be the app-level token (xapp-…) with connections:write, and Socket Mode must be on"
		}
		return failed("SLACK_APP_TOKEN", detail)
	}
	return passed("SLACK_APP_TOKEN", "Socket Mode can connect")
}

func checkChannel(ctx context.Context, api *slack.Client, channel string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	const setting = "REVOKE_CHANNEL_ID"
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	switch {
	case bot.SlackErrorCode(err) == "channel_not_found":
		return failed(setting, fmt.Sprintf("the bot cannot see channel %s: check the ID (channel details → About, at the bottom), and for a private channel invite the bot first", channel))
	case err != nil:
		return failed(setting, slackProblem("conversations.info", err))
	case ch.IsArchived:
		return failed(setting, fmt.Sprintf("channel #%s (%s) is archived", ch.Name, channel))
	case !ch.IsMember:
		return failed(setting, fmt.Sprintf("the bot is not in #%s (%s): invite it with /invite @<bot name> in the channel", ch.Name, channel))
	default:
		return passed(setting, fmt.Sprintf("#%s (%s); the bot is a member", ch.Name, channel))
	}
}

func checkApproverGroups(ctx context.Context, api *slack.Client, approvers []string) []CheckResult {
	const setting = "REVOKE_APPROVERS"
	_, groups, err := interactions.ParseApprovers(approvers)
	if err != nil {
		return []CheckResult{failed(setting, err.Error())}
	}
	var out []CheckResult
	for _, g := range groups {
		gctx, cancel := context.WithTimeout(ctx, checkTimeout)
		members, err := api.GetUserGroupMembersContext(gctx, g)
		cancel()
		if err != nil {
			out = append(out, failed(setting, fmt.Sprintf("user group %s: %s", g, slackProblem("usergroups.users.list", err))))
		} else {
			out = append(out, passed(setting, fmt.Sprintf("user group %s has %d members", g, len(members))))
		}
	}
	return out
}

func checkAccessOwl(ctx context.Context, cfg Config, hc *http.Client, version string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	const tokenVar, urlVar = "ACCESSOWL_API_TOKEN", "ACCESSOWL_API_URL"
	// One attempt: a person at a terminal wants the first answer, not three retries.
	owl, err := apiclient.New(cfg.AccessOwlURL, cfg.AccessOwlToken, apiclient.WithHTTPClient(hc),
		apiclient.WithVersion(version), apiclient.WithRetry(1, time.Second, time.Second), apiclient.WithTimeout(checkTimeout))
	if err != nil {
		return failed(urlVar, err.Error())
	}
	_, _, err = owl.ListUsers(ctx, apiclient.UserListOptions{ListOptions: apiclient.ListOptions{Limit: 1}})
	var apiErr *apiclient.Error
	switch {
	case errors.Is(err, apiclient.ErrUnauthorized):
		return failed(tokenVar, "AccessOwl refused it (401): create a new API token in AccessOwl's settings")
	case errors.Is(err, apiclient.ErrForbidden):
		return failed(tokenVar, "AccessOwl accepts it but forbids listing users (403): the token needs read access to users, access states and revocations")
	case errors.Is(err, apiclient.ErrNotFound):
		return failed(urlVar, fmt.Sprintf("%s has no AccessOwl API (GET /api/v1/users answered 404): use the base URL, such as https://api.accessowl.com", cfg.AccessOwlURL))
	case errors.As(err, &apiErr):
		return failed(tokenVar, fmt.Sprintf("AccessOwl answered %d to GET /api/v1/users: %v", apiErr.StatusCode, err))
	case err != nil:
		return failed(urlVar, fmt.Sprintf("cannot reach AccessOwl at %s: %v", cfg.AccessOwlURL, err))
	default:
		return passed(tokenVar, fmt.Sprintf("AccessOwl at %s accepts it", cfg.AccessOwlURL))
	}
}

// checkDataDir creates DATA_DIR if need be, as the store does, writes a file in it, and, when the
// store is there, makes a write in it that it rolls back: a folder can be writable while the
// store in it is not (a file left read-only by a restore, one owned by another user).
func checkDataDir(ctx context.Context, dir string, opts ...sqlite.Option) CheckResult {
	const setting = "DATA_DIR"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failed(setting, err.Error())
	}
	f, err := os.CreateTemp(dir, ".revokebot-check-*")
	if err != nil {
		return failed(setting, fmt.Sprintf("cannot write in %s: %v", dir, err))
	}
	f.Close()
	os.Remove(f.Name())
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	exists, err := sqlite.CheckWritable(ctx, dir, opts...)
	switch {
	case err != nil:
		return failed(setting, err.Error())
	case !exists:
		return passed(setting, fmt.Sprintf("%s is writable; the store is created there at the first start", dir))
	default:
		return passed(setting, fmt.Sprintf("%s and the store in it are writable", dir))
	}
}

// slackUnreachable says why method's call did not reach Slack's Web API at apiURL — no answer
// (DNS, a refused connection, TLS, a timeout) or an answer that is not Slack's — and returns ""
// when Slack itself answered, so that a refusal is blamed on the token and anything else on
// SLACK_API_URL.
func slackUnreachable(apiURL, method string, err error) string {
	var (
		limited *slack.RateLimitedError
		status  slack.StatusCodeError
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
	)
	switch {
	case bot.SlackErrorCode(err) != "", errors.As(err, &limited):
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Slack's Web API at %s did not answer %s in time (%s at most): check the URL, and that this machine may connect to it (firewall, proxy)", apiURL, method, checkTimeout)
	case errors.As(err, &status) && status.Code >= 500:
		return fmt.Sprintf("%s answered %s with HTTP %d: Slack may be having trouble (https://status.slack.com), or the URL is not Slack's Web API", apiURL, method, status.Code)
	case errors.As(err, &status):
		return fmt.Sprintf("%s answered %s with HTTP %d, which Slack's Web API never does: check the URL (the default is https://slack.com/api/)", apiURL, method, status.Code)
	case errors.As(err, &syntax), errors.As(err, &typ), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Sprintf("%s answered %s with something other than Slack's JSON: check the URL (the default is https://slack.com/api/)", apiURL, method)
	default:
		return fmt.Sprintf("cannot reach Slack's Web API at %s: %v", apiURL, err)
	}
}

// slackProblem says in a sentence what Slack's answer to method means for the operator.
func slackProblem(method string, err error) string {
	code := bot.SlackErrorCode(err)
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
		return fmt.Sprintf("Slack refused it (%s): copy the token again from the app's settings, or reinstall the app", code)
	case "not_allowed_token_type":
		return fmt.Sprintf("Slack refused it (%s): it is the wrong kind of token", code)
	case "missing_scope":
		return fmt.Sprintf("the token lacks a scope %s needs (missing_scope): update the app from deploy/slack-app-manifest.yaml and reinstall it", method)
	case "":
		return fmt.Sprintf("%s failed: %v", method, err)
	}
	return fmt.Sprintf("%s failed: %s", method, code)
}
