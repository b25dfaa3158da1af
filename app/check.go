package app

import (
	"context"
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
)

// checkTimeout bounds each of revokebot check's calls: a service that takes longer is as good as
// unreachable to someone waiting at a terminal.
const checkTimeout = 10 * time.Second

// CheckResult is the outcome of one of Check's checks.
type CheckResult struct {
	// Setting names what was checked: the variable to fix when it failed.
	Setting string
	OK      bool
	// Detail says what was found, or what is wrong and how to fix it.
	Detail string
}

// Check tries cfg against the services it names, the way the bot will use them: Slack accepts
// the bot token (auth.test) and the app-level token (apps.connections.open, which only hands out
// a connection URL), the bot can see REVOKE_CHANNEL_ID and is in it, the approver groups exist,
// AccessOwl accepts its token (one GET /users?limit=1), and DATA_DIR is writable. It changes
// nothing anywhere, and every check runs even after one fails, so one run names every problem.
func Check(ctx context.Context, cfg Config, version string) []CheckResult {
	// A transport of its own, closed on return, so nothing is left running.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	api := slack.New(cfg.SlackBotToken.Reveal(), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(hc))

	results := []CheckResult{checkBotToken(ctx, api), checkAppToken(ctx, api)}
	if results[0].OK {
		results = append(results, checkChannel(ctx, api, cfg.Channel))
		results = append(results, checkApproverGroups(ctx, api, cfg.Approvers)...)
	}
	results = append(results, checkAccessOwl(ctx, cfg, hc, version), checkDataDir(cfg.DataDir))
	return results
}

// PrintCheck writes results one to a line and a verdict, and reports whether all passed.
func PrintCheck(w io.Writer, results []CheckResult) bool {
	failed := 0
	for _, r := range results {
		mark := "ok  "
		if !r.OK {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, r.Setting, r.Detail)
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d checks failed: fix the settings marked FAIL.\n", failed, len(results))
		return false
	}
	fmt.Fprintln(w, "\nAll is well: revokebot can run with this configuration.")
	return true
}

func checkBotToken(ctx context.Context, api *slack.Client) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r := CheckResult{Setting: "SLACK_BOT_TOKEN"}
	auth, err := api.AuthTestContext(ctx)
	switch {
	case err != nil:
		r.Detail = slackProblem("auth.test", err)
	case auth.BotID == "":
		r.Detail = fmt.Sprintf("Slack accepts it, but it belongs to user %s, not to a bot: use the Bot User OAuth Token (xoxb-…) of the app", auth.User)
	default:
		r.OK, r.Detail = true, fmt.Sprintf("bot @%s (%s) in workspace %s (%s)", auth.User, auth.UserID, auth.Team, auth.TeamID)
	}
	return r
}

func checkAppToken(ctx context.Context, api *slack.Client) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r := CheckResult{Setting: "SLACK_APP_TOKEN"}
	// The URL is single-use and expires unused: asking for one connects nothing.
	if _, _, err := api.StartSocketModeContext(ctx); err != nil {
		r.Detail = slackProblem("apps.connections.open", err)
		if bot.SlackErrorCode(err) == "not_allowed_token_type" {
			r.Detail += ": this must be the app-level token (xapp-…) with connections:write, and Socket Mode must be on"
		}
		return r
	}
	r.OK, r.Detail = true, "Socket Mode can connect"
	return r
}

func checkChannel(ctx context.Context, api *slack.Client, channel string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r := CheckResult{Setting: "REVOKE_CHANNEL_ID"}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	switch {
	case bot.SlackErrorCode(err) == "channel_not_found":
		r.Detail = fmt.Sprintf("the bot cannot see channel %s: check the ID (channel details → About, at the bottom), and for a private channel invite the bot first", channel)
	case err != nil:
		r.Detail = slackProblem("conversations.info", err)
	case ch.IsArchived:
		r.Detail = fmt.Sprintf("channel #%s (%s) is archived", ch.Name, channel)
	case !ch.IsMember:
		r.Detail = fmt.Sprintf("the bot is not in #%s (%s): invite it with /invite @<bot name> in the channel", ch.Name, channel)
	default:
		r.OK, r.Detail = true, fmt.Sprintf("#%s (%s); the bot is a member", ch.Name, channel)
	}
	return r
}

func checkApproverGroups(ctx context.Context, api *slack.Client, approvers []string) []CheckResult {
	_, groups, err := interactions.ParseApprovers(approvers)
	if err != nil {
		return []CheckResult{{Setting: "REVOKE_APPROVERS", Detail: err.Error()}}
	}
	var out []CheckResult
	for _, g := range groups {
		r := CheckResult{Setting: "REVOKE_APPROVERS"}
		gctx, cancel := context.WithTimeout(ctx, checkTimeout)
		members, err := api.GetUserGroupMembersContext(gctx, g)
		cancel()
		if err != nil {
			r.Detail = fmt.Sprintf("user group %s: %s", g, slackProblem("usergroups.users.list", err))
		} else {
			r.OK, r.Detail = true, fmt.Sprintf("user group %s has %d members", g, len(members))
		}
		out = append(out, r)
	}
	return out
}

func checkAccessOwl(ctx context.Context, cfg Config, hc *http.Client, version string) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r := CheckResult{Setting: "ACCESSOWL_API_TOKEN"}
	// One attempt: a person at a terminal wants the first answer, not three retries.
	owl, err := apiclient.New(cfg.AccessOwlURL, cfg.AccessOwlToken, apiclient.WithHTTPClient(hc),
		apiclient.WithVersion(version), apiclient.WithRetry(1, time.Second, time.Second), apiclient.WithTimeout(checkTimeout))
	if err != nil {
		r.Setting, r.Detail = "ACCESSOWL_API_URL", err.Error()
		return r
	}
	_, _, err = owl.ListUsers(ctx, apiclient.UserListOptions{ListOptions: apiclient.ListOptions{Limit: 1}})
	var apiErr *apiclient.Error
	switch {
	case errors.Is(err, apiclient.ErrUnauthorized):
		r.Detail = "AccessOwl refused it (401): create a new API token in AccessOwl's settings"
	case errors.Is(err, apiclient.ErrForbidden):
		r.Detail = "AccessOwl accepts it but forbids listing users (403): the token needs read access to users, access states and revocations"
	case errors.Is(err, apiclient.ErrNotFound):
		r.Setting, r.Detail = "ACCESSOWL_API_URL", fmt.Sprintf("%s has no AccessOwl API (GET /api/v1/users answered 404): use the base URL, such as https://api.accessowl.com", cfg.AccessOwlURL)
	case errors.As(err, &apiErr):
		r.Detail = fmt.Sprintf("AccessOwl answered %d to GET /api/v1/users: %v", apiErr.StatusCode, err)
	case err != nil:
		r.Setting, r.Detail = "ACCESSOWL_API_URL", fmt.Sprintf("cannot reach AccessOwl at %s: %v", cfg.AccessOwlURL, err)
	default:
		r.OK, r.Detail = true, fmt.Sprintf("AccessOwl at %s accepts it", cfg.AccessOwlURL)
	}
	return r
}

// checkDataDir creates DATA_DIR if need be, as the store does, and writes a file in it.
func checkDataDir(dir string) CheckResult {
	r := CheckResult{Setting: "DATA_DIR"}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.Detail = err.Error()
		return r
	}
	f, err := os.CreateTemp(dir, ".revokebot-check-*")
	if err != nil {
		r.Detail = fmt.Sprintf("cannot write in %s: %v", dir, err)
		return r
	}
	f.Close()
	os.Remove(f.Name())
	r.OK, r.Detail = true, fmt.Sprintf("%s is writable", dir)
	return r
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
