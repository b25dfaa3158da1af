package app

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"revokebot/interactions"
	"revokebot/secret"
)

// Config is revokebot's configuration, read from the environment. The variables, their defaults
// and their meaning are a contract with operators and deployment files: keep them stable.
type Config struct {
	SlackAppToken     secret.Token  `envconfig:"SLACK_APP_TOKEN" required:"true" desc:"xapp-… app-level token with connections:write"`
	SlackBotToken     secret.Token  `envconfig:"SLACK_BOT_TOKEN" required:"true" desc:"xoxb-… bot token"`
	SlackAPIURL       string        `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base (GovSlack, proxies, tests)"`
	AccessOwlToken    secret.Token  `envconfig:"ACCESSOWL_API_TOKEN" required:"true" desc:"AccessOwl API token"`
	AccessOwlURL      string        `envconfig:"ACCESSOWL_API_URL" default:"https://api.accessowl.com" desc:"AccessOwl base URL; the client adds /api/v1/…"`
	AccessOwlRate     int           `envconfig:"ACCESSOWL_RATE_LIMIT" default:"1000" desc:"requests per hour the bot allows itself with that token"`
	Channel           string        `envconfig:"REVOKE_CHANNEL_ID" required:"true" desc:"channel where approval requests are posted"`
	Approvers         []string      `envconfig:"REVOKE_APPROVERS" required:"true" desc:"comma list of Slack user IDs (U…, W…) and user-group IDs (S…)"`
	AllowSelfApproval bool          `envconfig:"REVOKE_ALLOW_SELF_APPROVAL" default:"false" desc:"may a requester approve their own request"`
	RequestTTL        time.Duration `envconfig:"REVOKE_REQUEST_TTL" default:"72h" desc:"pending requests expire after this"`
	StatusPoll        time.Duration `envconfig:"REVOKE_STATUS_POLL" default:"15s" desc:"shortest interval between two status checks of one revocation"`
	DataDir           string        `envconfig:"DATA_DIR" default:"./data" desc:"where the embedded store keeps its file"`
	ListenAddr        string        `envconfig:"LISTEN_ADDR" default:":9090" desc:"/healthz, /readyz, /metrics; empty disables"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"json" desc:"json, or text for people at a terminal"`
}

// LoadConfig reads the configuration from the environment and checks it. Its errors name the
// variable at fault in one line.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var parse *envconfig.ParseError
		if errors.As(err, &parse) {
			return c, fmt.Errorf("%s: %q is not a valid %s", parse.KeyName, parse.Value, parse.TypeName)
		}
		return c, errors.New(strings.TrimPrefix(err.Error(), "envconfig.Process: "))
	}
	return c, c.Validate()
}

var (
	channelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	logLevels = []string{"debug", "info", "warn", "error"}
)

// Validate checks what envconfig cannot: token kinds, URLs, IDs, ranges.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(strings.HasPrefix(c.SlackAppToken.Reveal(), "xapp-"), "SLACK_APP_TOKEN: want an app-level token starting xapp-")
	check(strings.HasPrefix(c.SlackBotToken.Reveal(), "xoxb-"), "SLACK_BOT_TOKEN: want a bot token starting xoxb-")
	check(!c.AccessOwlToken.IsZero(), "ACCESSOWL_API_TOKEN: empty")
	if err := checkURL(c.SlackAPIURL); err != nil {
		errs = append(errs, fmt.Errorf("SLACK_API_URL: %w", err))
	} else {
		check(strings.HasSuffix(c.SlackAPIURL, "/"), "SLACK_API_URL: must end with /")
	}
	if err := checkURL(c.AccessOwlURL); err != nil {
		errs = append(errs, fmt.Errorf("ACCESSOWL_API_URL: %w", err))
	}
	check(c.AccessOwlRate >= 40, "ACCESSOWL_RATE_LIMIT: %d is too low to leave room for people's clicks (at least 40)", c.AccessOwlRate)
	check(channelID.MatchString(c.Channel), "REVOKE_CHANNEL_ID: %q is not a Slack channel ID (C… or G…)", c.Channel)
	if _, _, err := interactions.ParseApprovers(c.Approvers); err != nil {
		errs = append(errs, fmt.Errorf("REVOKE_APPROVERS: %w", err))
	}
	check(c.RequestTTL >= time.Minute, "REVOKE_REQUEST_TTL: %s is shorter than a minute", c.RequestTTL)
	check(c.StatusPoll >= time.Second, "REVOKE_STATUS_POLL: %s is shorter than a second", c.StatusPoll)
	check(c.DataDir != "", "DATA_DIR: empty")
	check(slices.Contains(logLevels, c.LogLevel), "LOG_LEVEL: %q is not one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	check(c.LogFormat == "json" || c.LogFormat == "text", "LOG_FORMAT: %q is not json or text", c.LogFormat)
	if len(errs) == 0 {
		return nil
	}
	// One line, so the whole reason fits a log line or a pod's status.
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.User != nil {
		return errors.New("credentials do not belong in the URL")
	}
	return nil
}

// PrintUsage writes every variable with its default and meaning, for revokebot --help.
func PrintUsage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	const format = `{{range .}}{{usage_key .}}	{{if usage_required .}}required{{else}}{{usage_default .}}{{end}}	{{usage_description .}}
{{end}}`
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	if err := envconfig.Usagef("", &Config{}, tw, format); err != nil {
		return err
	}
	return tw.Flush()
}
