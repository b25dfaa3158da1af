package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"revokebot/interactions"
	"revokebot/revoke"
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
	RemindAfter       time.Duration `envconfig:"REVOKE_REMIND_AFTER" default:"4h" desc:"first reminder of an undecided request, or of an admin-provisioned revocation waiting for its admins, after this; each next one after twice as long"`
	RemindMax         int           `envconfig:"REVOKE_REMIND_MAX" default:"3" desc:"reminders at most per request or revocation; 0 sends none"`
	RemindHours       revoke.Hours  `envconfig:"REVOKE_REMIND_HOURS" desc:"remind only within these hours, like 09-18 Europe/Berlin; empty: at any hour"`
	Retention         time.Duration `envconfig:"REVOKE_RETENTION" default:"2160h" desc:"finished requests are deleted this long after their last activity; 0 keeps them for ever"`
	AuditRetention    time.Duration `envconfig:"AUDIT_RETENTION" default:"8760h" desc:"audit records are deleted when this old; 0 keeps them for ever"`
	DataDir           string        `envconfig:"DATA_DIR" default:"./data" desc:"where the embedded store keeps its file"`
	DatabaseURL       string        `envconfig:"DATABASE_URL" desc:"empty: the embedded SQLite store under DATA_DIR, one replica; postgres://…: PostgreSQL, shared by any number of replicas"`
	ListenAddr        string        `envconfig:"LISTEN_ADDR" default:":9090" desc:"/healthz, /readyz, /metrics; empty disables"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"json" desc:"json, or text for people at a terminal"`
}

// LoadConfig reads the configuration from the environment and checks it. When settings are
// missing or malformed, its error is a *ConfigError that names every one of them, so a first
// setup is fixed in one round rather than one variable at a time.
func LoadConfig() (Config, error) {
	var c Config
	// envconfig stops at the first variable it cannot read, so it reads each variable on its
	// own, into a struct of that one field; what it reads lands in c, so that the checks below
	// judge the rest as the bot will use them.
	var problems []SettingError
	failed := map[string]bool{}
	order := map[string]int{}
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("envconfig")
		order[name] = i
		if err := readField(v, i); err != nil {
			problems = append(problems, settingProblem(name, err))
			failed[name] = true
		}
	}
	// slack-go joins method names to the base, so it needs the trailing slash people leave out.
	if c.SlackAPIURL != "" && !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	// A variable that could not be read is named once, for that, and not again for the zero
	// value it was left at.
	for _, p := range c.problems() {
		if !failed[p.Variable] {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b SettingError) int { return order[a.Variable] - order[b.Variable] })
		return c, &ConfigError{Problems: problems}
	}
	return c, nil
}

// readField has envconfig read the variable of the struct v's field i on its own, into that
// field.
func readField(v reflect.Value, i int) error {
	f := v.Type().Field(i)
	one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: f.Name, Type: f.Type, Tag: f.Tag}}))
	if err := envconfig.Process("", one.Interface()); err != nil {
		return err
	}
	v.Field(i).Set(one.Elem().Field(0))
	return nil
}

// LoadDataDir reads DATA_DIR alone, with its default, for subcommands such as backup that need
// the store but none of the tokens.
func LoadDataDir() (string, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	f, _ := v.Type().FieldByName("DataDir")
	name := f.Tag.Get("envconfig")
	if err := readField(v, f.Index[0]); err != nil {
		return "", &ConfigError{Problems: []SettingError{settingProblem(name, err)}}
	}
	if c.DataDir == "" {
		return "", &ConfigError{Problems: []SettingError{{name, "empty"}}}
	}
	return c.DataDir, nil
}

// settingProblem turns envconfig's error for one variable into a sentence an operator acts on.
func settingProblem(name string, err error) SettingError {
	var parse *envconfig.ParseError
	if errors.As(err, &parse) {
		want := map[string]string{
			"time.Duration": "a duration such as 72h, 90m or 15s",
			"int":           "a whole number",
			"bool":          "true or false",
			"revoke.Hours":  "working hours such as 09-18 Europe/Berlin",
		}[parse.TypeName]
		if want == "" {
			want = "a valid " + parse.TypeName
		}
		return SettingError{name, fmt.Sprintf("%q is not %s", parse.Value, want)}
	}
	if strings.Contains(err.Error(), "required key") {
		return SettingError{name, "required, not set"}
	}
	return SettingError{name, strings.TrimPrefix(err.Error(), "envconfig.Process: ")}
}

// SettingError is what is wrong with one environment variable.
type SettingError struct {
	Variable string
	Problem  string
}

func (e SettingError) Error() string { return e.Variable + ": " + e.Problem }

// ConfigError lists every setting that is missing or malformed, in the order of Config.
type ConfigError struct {
	Problems []SettingError
}

// Error is one line, so the whole reason fits a log line or a pod's termination message.
func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return fmt.Sprintf("%d settings to fix: %s", len(msgs), strings.Join(msgs, "; "))
}

// PrintConfigError writes, in revokebot check's format, every setting that stopped the
// configuration from being read, so all of them can be fixed before trying Slack and AccessOwl.
func PrintConfigError(w io.Writer, err *ConfigError) {
	for _, p := range err.Problems {
		fmt.Fprintf(w, "FAIL  %s: %s\n", p.Variable, p.Problem)
	}
	n := "1 setting is missing or malformed: fix it"
	if len(err.Problems) != 1 {
		n = fmt.Sprintf("%d settings are missing or malformed: fix them", len(err.Problems))
	}
	fmt.Fprintf(w, "\n%s, then run revokebot check again to try the configuration against Slack and AccessOwl.\n", n)
}

var (
	channelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	logLevels = []string{"debug", "info", "warn", "error"}
)

// Validate checks what envconfig cannot: token kinds, URLs, IDs, ranges. Its error is a
// *ConfigError naming every setting at fault.
func (c Config) Validate() error {
	if problems := c.problems(); len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

func (c Config) problems() []SettingError {
	var out []SettingError
	check := func(ok bool, variable, format string, args ...any) {
		if !ok {
			out = append(out, SettingError{variable, fmt.Sprintf(format, args...)})
		}
	}
	check(strings.HasPrefix(c.SlackAppToken.Reveal(), "xapp-"), "SLACK_APP_TOKEN", "want an app-level token starting xapp-")
	check(strings.HasPrefix(c.SlackBotToken.Reveal(), "xoxb-"), "SLACK_BOT_TOKEN", "want a bot token starting xoxb-")
	check(!c.AccessOwlToken.IsZero(), "ACCESSOWL_API_TOKEN", "empty")
	if err := checkURL(c.SlackAPIURL); err != nil {
		check(false, "SLACK_API_URL", "%v", err)
	}
	if err := checkURL(c.AccessOwlURL); err != nil {
		check(false, "ACCESSOWL_API_URL", "%v", err)
	}
	check(c.AccessOwlRate >= 40, "ACCESSOWL_RATE_LIMIT", "%d is too low to leave room for people's clicks (at least 40)", c.AccessOwlRate)
	check(channelID.MatchString(c.Channel), "REVOKE_CHANNEL_ID", "%q is not a Slack channel ID (C… or G…)", c.Channel)
	if _, _, err := interactions.ParseApprovers(c.Approvers); err != nil {
		check(false, "REVOKE_APPROVERS", "%v", err)
	}
	check(c.RequestTTL >= time.Minute, "REVOKE_REQUEST_TTL", "%s is shorter than a minute", c.RequestTTL)
	check(c.StatusPoll >= time.Second, "REVOKE_STATUS_POLL", "%s is shorter than a second", c.StatusPoll)
	// Zero takes the default, for configurations built in code (the sandbox, tests).
	check(c.RemindAfter == 0 || c.RemindAfter >= time.Second, "REVOKE_REMIND_AFTER", "%s is shorter than a second", c.RemindAfter)
	check(c.RemindMax >= 0 && c.RemindMax <= maxReminders, "REVOKE_REMIND_MAX", "%d is not from 0 to %d", c.RemindMax, maxReminders)
	checkRetention(c.Retention, "REVOKE_RETENTION", check)
	checkRetention(c.AuditRetention, "AUDIT_RETENTION", check)
	if validRetention(c.Retention) && validRetention(c.AuditRetention) {
		// The audit trail must outlive the requests it describes. 0 keeps for ever; requests kept
		// for ever with an audit deleted after a while is a choice the README describes.
		check(c.Retention == 0 || c.AuditRetention == 0 || c.AuditRetention >= c.Retention, "AUDIT_RETENTION",
			"%s is shorter than REVOKE_RETENTION (%s): the audit trail must outlive the requests it describes", c.AuditRetention, c.Retention)
	}
	if c.ListenAddr != "" {
		_, _, err := net.SplitHostPort(c.ListenAddr)
		check(err == nil, "LISTEN_ADDR", "%q is not host:port, such as :9090 or 127.0.0.1:9090 (empty turns the endpoints off)", c.ListenAddr)
	}
	check(c.DataDir != "", "DATA_DIR", "empty")
	check(validDatabaseURL(c.DatabaseURL), "DATABASE_URL", "not a postgres:// or postgresql:// URL (the value is not shown: it may hold a password)")
	check(slices.Contains(logLevels, c.LogLevel), "LOG_LEVEL", "%q is not one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	check(c.LogFormat == "json" || c.LogFormat == "text", "LOG_FORMAT", "%q is not json or text", c.LogFormat)
	return out
}

// maxReminders bounds REVOKE_REMIND_MAX: with the wait doubling each time, the tenth reminder
// of the default comes after 85 days, longer than anything waits.
const maxReminders = 10

// minRetention is the shortest retention accepted: anything shorter is far more likely a
// mistyped unit (90m for 90 days) than a wish to delete today's requests.
const minRetention = 24 * time.Hour

func checkRetention(d time.Duration, variable string, check func(ok bool, variable, format string, args ...any)) {
	check(validRetention(d), variable, "%s is shorter than a day (0 keeps for ever)", d)
}

func validRetention(d time.Duration) bool { return d == 0 || d >= minRetention }

// validDatabaseURL reports whether raw is empty (the embedded store) or a PostgreSQL URL.
func validDatabaseURL(raw string) bool {
	if raw == "" {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
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
