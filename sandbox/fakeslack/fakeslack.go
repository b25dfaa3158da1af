// Package fakeslack is an in-memory Slack workspace that speaks Socket Mode and the Web API
// closely enough that unmodified Slack clients (slack-go's socketmode, Bolt for JavaScript) run
// against it.
//
// A Workspace holds people, channels, messages, ephemeral messages and open modals. Tests and the
// sandbox ACT as a person (RunSlashCommand, ClickButton, SubmitModal, …) and OBSERVE the result
// (Messages, Thread, Ephemerals, Modal, and Wait… functions that block until a condition holds or
// the context ends). The workspace enforces Slack's limits and answers with Slack's error codes,
// so a bot that passes here does not meet its first invalid_blocks in production.
package fakeslack

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Slack's real timings and limits, used when Config leaves a field zero.
const (
	// DefaultPingInterval keeps below the 30 s after which slack-go and Bolt give up on a
	// silent server.
	DefaultPingInterval = 10 * time.Second
	// DefaultRedeliveryDelay is how long Slack waits for an ack before it sends the envelope
	// again (Slack documents 3 s for the ack).
	DefaultRedeliveryDelay = 3 * time.Second
	// DefaultMaxRetries is how often Slack retries an unacked envelope.
	DefaultMaxRetries = 3
	// DefaultTriggerLifetime is how long a trigger_id can open or push a view.
	DefaultTriggerLifetime = 3 * time.Second
	// DefaultResponseURLLifetime and DefaultResponseURLUses bound a response_url.
	DefaultResponseURLLifetime = 30 * time.Minute
	DefaultResponseURLUses     = 5
	// DefaultPostMessageBurst is the small burst chat.postMessage allows per channel on top of
	// its one message per second.
	DefaultPostMessageBurst = 5
	// DefaultDebugReconnectAfter is when Slack cuts a connection opened with
	// debug_reconnects=true.
	DefaultDebugReconnectAfter = 360 * time.Second
	// maxFrameBytes: frames of 20,480 bytes or more close the socket with code 1009.
	maxFrameBytes = 20 * 1024
)

// Config sets up a Workspace. The zero value is usable: every zero field takes Slack's value.
type Config struct {
	TeamID, TeamDomain, TeamName string
	AppID, BotID, BotUserID      string
	BotName                      string
	// AppToken (xapp-…) opens Socket Mode connections; BotToken (xoxb-…) calls the Web API.
	AppToken, BotToken string
	// BaseURL, when set, is the public URL of the workspace's mount point (ending in "/"),
	// used for ws:// and response_url addresses. Otherwise they derive from the request.
	BaseURL string
	// PermalinkBase, when set, is where chat.getPermalink's links point instead of
	// https://<TeamDomain>.slack.com/: the sandbox points them at its page, which scrolls to the
	// message rather than opening a workspace on the internet that does not exist.
	PermalinkBase string

	PingInterval        time.Duration
	RedeliveryDelay     time.Duration
	MaxRetries          int
	DisableRedelivery   bool
	TriggerLifetime     time.Duration
	ResponseURLLifetime time.Duration
	ResponseURLUses     int
	DebugReconnectAfter time.Duration
	// PostMessageRate is chat.postMessage's allowance per channel; DisableRateLimit turns the
	// 429s off altogether.
	PostMessageRate  rate.Limit
	PostMessageBurst int
	DisableRateLimit bool

	// Now and Rand make time stamps and the choice of connection reproducible.
	Now  func() time.Time
	Rand *rand.Rand
	Log  *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.TeamID, "T0FAKE0001")
	def(&c.TeamDomain, "revokebot-sandbox")
	def(&c.TeamName, "revokebot sandbox")
	def(&c.AppID, "A0FAKE0001")
	def(&c.BotID, "B0FAKE0001")
	def(&c.BotUserID, "U0BOT00001")
	def(&c.BotName, "revokebot")
	def(&c.AppToken, "xapp-1-A0FAKE0001-1-fakeslackapptoken")
	def(&c.BotToken, "xoxb-1-fakeslackbottoken")
	if c.BaseURL != "" && !strings.HasSuffix(c.BaseURL, "/") {
		c.BaseURL += "/"
	}
	durDef := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	durDef(&c.PingInterval, DefaultPingInterval)
	durDef(&c.RedeliveryDelay, DefaultRedeliveryDelay)
	durDef(&c.TriggerLifetime, DefaultTriggerLifetime)
	durDef(&c.ResponseURLLifetime, DefaultResponseURLLifetime)
	durDef(&c.DebugReconnectAfter, DefaultDebugReconnectAfter)
	if c.MaxRetries <= 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.ResponseURLUses <= 0 {
		c.ResponseURLUses = DefaultResponseURLUses
	}
	if c.PostMessageRate <= 0 {
		c.PostMessageRate = 1
	}
	if c.PostMessageBurst <= 0 {
		c.PostMessageBurst = DefaultPostMessageBurst
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Workspace is one fake Slack workspace with one installed app. It is an http.Handler serving
// the Web API under "api/", the Socket Mode socket under "socket", response URLs under
// "response/" and the change stream under "changes", relative to wherever it is mounted.
type Workspace struct {
	cfg Config

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change, to wake waiters
	seq      int64
	ids      map[string]int
	lastTS   time.Time
	baseURL  string // last base URL seen in a request, for response_url when Config has none
	users    []*User
	groups   []*UserGroup
	channels []*Channel
	messages map[string][]*Message // by channel, in ts order (replies included)
	ephem    map[string][]*Ephemeral
	modals   map[string][]*View // by user, bottom first
	triggers map[string]*trigger
	respURLs map[string]*responseURL
	limiters map[string]*rate.Limiter
	calls    []Call
	faults   map[string]Fault // by Web API method
	subs     map[int]chan Change
	subSeq   int

	sock *socketHub

	closeOnce sync.Once
	wg        sync.WaitGroup
	done      chan struct{}
}

// New returns a workspace seeded with the bot and nothing else; add people and channels with
// AddUser, AddChannel and AddUserGroup, or call Seed for a small ready-made organisation.
func New(cfg Config) *Workspace {
	cfg = cfg.withDefaults()
	w := &Workspace{
		cfg:      cfg,
		changed:  make(chan struct{}),
		ids:      map[string]int{},
		messages: map[string][]*Message{},
		ephem:    map[string][]*Ephemeral{},
		modals:   map[string][]*View{},
		triggers: map[string]*trigger{},
		respURLs: map[string]*responseURL{},
		limiters: map[string]*rate.Limiter{},
		faults:   map[string]Fault{},
		subs:     map[int]chan Change{},
		done:     make(chan struct{}),
	}
	w.sock = newSocketHub(w)
	w.users = append(w.users, &User{ID: cfg.BotUserID, Name: cfg.BotName, RealName: cfg.BotName, IsBot: true, BotID: cfg.BotID})
	return w
}

// AppToken is the app-level token (xapp-…) that opens Socket Mode connections.
func (w *Workspace) AppToken() string { return w.cfg.AppToken }

// BotToken is the bot token (xoxb-…) the Web API accepts.
func (w *Workspace) BotToken() string { return w.cfg.BotToken }

// BotUserID is the bot's own user ID.
func (w *Workspace) BotUserID() string { return w.cfg.BotUserID }

// TeamID is the workspace's ID.
func (w *Workspace) TeamID() string { return w.cfg.TeamID }

// AppID is the installed app's ID, as hello and every payload carry it.
func (w *Workspace) AppID() string { return w.cfg.AppID }

// Close cuts every socket, stops every timer and waits for the workspace's goroutines.
func (w *Workspace) Close() {
	w.closeOnce.Do(func() {
		close(w.done)
		w.sock.closeAll()
		w.mu.Lock()
		for id, ch := range w.subs {
			close(ch)
			delete(w.subs, id)
		}
		w.mu.Unlock()
	})
	w.wg.Wait()
}

// ServeHTTP routes a request relative to the workspace's mount point. It works both when the
// workspace is mounted with http.StripPrefix and when it sees the full path, because the mount
// prefix is recovered from the request itself.
func (w *Workspace) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	base, rel := w.locate(r)
	switch {
	case strings.HasPrefix(rel, "api/"):
		w.serveAPI(rw, r, base, strings.TrimPrefix(rel, "api/"))
	case rel == "socket":
		w.sock.serveSocket(rw, r)
	case strings.HasPrefix(rel, "response/"):
		w.serveResponseURL(rw, r, strings.TrimPrefix(rel, "response/"))
	case rel == "changes":
		w.ChangesHandler().ServeHTTP(rw, r)
	default:
		http.NotFound(rw, r)
	}
}

// locate returns the absolute base URL of the mount point (ending in "/") and the path
// relative to it. The relative part is what follows the last known route marker.
func (w *Workspace) locate(r *http.Request) (base, rel string) {
	path := r.URL.Path
	orig := path
	// RequestURI still holds the path before any http.StripPrefix, in origin or absolute form.
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		orig = u.Path
	}
	for _, marker := range []string{"/api/", "/socket", "/response/", "/changes"} {
		if i := strings.LastIndex(orig, marker); i >= 0 && (marker != "/socket" && marker != "/changes" || strings.HasSuffix(orig, marker)) {
			rel = orig[i+1:]
			prefix := orig[:i+1]
			return w.absBase(r, prefix), rel
		}
	}
	return w.absBase(r, "/"), strings.TrimPrefix(path, "/")
}

func (w *Workspace) absBase(r *http.Request, prefix string) string {
	if w.cfg.BaseURL != "" {
		return w.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + prefix
	w.mu.Lock()
	w.baseURL = base
	w.mu.Unlock()
	return base
}

// publicBaseLocked is the base for URLs minted outside a request (response_url of an act).
// Callers hold w.mu.
func (w *Workspace) publicBaseLocked() string {
	if w.cfg.BaseURL != "" {
		return w.cfg.BaseURL
	}
	if w.baseURL != "" {
		return w.baseURL
	}
	return "http://127.0.0.1/"
}
