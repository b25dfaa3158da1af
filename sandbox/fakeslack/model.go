package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// User is a person (or the bot) in the workspace.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	Email    string `json:"email,omitempty"`
	IsBot    bool   `json:"is_bot,omitempty"`
	BotID    string `json:"bot_id,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// UserGroup is a user group (S…), as usergroups.users.list resolves it.
type UserGroup struct {
	ID      string   `json:"id"`
	Handle  string   `json:"handle"`
	Name    string   `json:"name"`
	Members []string `json:"users"`
}

// Channel is a conversation: a public or private channel (C…) or a DM with the bot (D…).
type Channel struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	IsPrivate bool     `json:"is_private,omitempty"`
	IsIM      bool     `json:"is_im,omitempty"`
	Members   []string `json:"members"`
}

func (c *Channel) hasMember(userID string) bool { return slices.Contains(c.Members, userID) }

// Message is a message in a channel; a reply has ThreadTS set to its parent's TS.
type Message struct {
	Channel        string          `json:"channel"`
	TS             string          `json:"ts"`
	ThreadTS       string          `json:"thread_ts,omitempty"`
	User           string          `json:"user"`
	BotID          string          `json:"bot_id,omitempty"`
	Text           string          `json:"text"`
	Blocks         json.RawMessage `json:"blocks,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	ReplyBroadcast bool            `json:"reply_broadcast,omitempty"`
	ReplyCount     int             `json:"reply_count,omitempty"`
	Edited         bool            `json:"edited,omitempty"`
}

// IsReply reports whether the message lives in a thread under another message.
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Ephemeral is a message only one person sees: a slash command's answer, a response_url reply
// or a chat.postEphemeral.
type Ephemeral struct {
	User     string          `json:"user"`
	Channel  string          `json:"channel"`
	TS       string          `json:"ts"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	// Source says how the message came: "ack", "response_url" or "chat.postEphemeral".
	Source  string `json:"source"`
	Deleted bool   `json:"deleted,omitempty"`
}

// View is an open modal. State holds what the person has entered, by block and action ID,
// in the shape view_submission carries it.
type View struct {
	ID              string                                `json:"id"`
	Type            string                                `json:"type"`
	CallbackID      string                                `json:"callback_id"`
	ExternalID      string                                `json:"external_id"`
	PrivateMetadata string                                `json:"private_metadata"`
	Hash            string                                `json:"hash"`
	Title           json.RawMessage                       `json:"title"`
	Submit          json.RawMessage                       `json:"submit,omitempty"`
	Close           json.RawMessage                       `json:"close,omitempty"`
	Blocks          json.RawMessage                       `json:"blocks"`
	NotifyOnClose   bool                                  `json:"notify_on_close"`
	ClearOnClose    bool                                  `json:"clear_on_close"`
	RootViewID      string                                `json:"root_view_id"`
	PreviousViewID  string                                `json:"previous_view_id,omitempty"`
	State           map[string]map[string]json.RawMessage `json:"state_values"`
	// Errors are the messages of the last response_action "errors", by block ID.
	Errors map[string]string `json:"errors,omitempty"`
}

func (v *View) clone() *View {
	c := *v
	c.State = map[string]map[string]json.RawMessage{}
	for b, acts := range v.State {
		c.State[b] = map[string]json.RawMessage{}
		for a, val := range acts {
			c.State[b][a] = val
		}
	}
	if v.Errors != nil {
		c.Errors = map[string]string{}
		for k, e := range v.Errors {
			c.Errors[k] = e
		}
	}
	return &c
}

// newID mints an ID with Slack's prefix letter, unique in the workspace.
func (w *Workspace) newID(prefix string) string {
	w.ids[prefix]++
	return fmt.Sprintf("%s%09d", prefix, w.ids[prefix])
}

// nextTS returns a message time stamp greater than every earlier one, as Slack's ts are.
func (w *Workspace) nextTS() string {
	now := w.cfg.Now()
	if !now.After(w.lastTS) {
		now = w.lastTS.Add(time.Microsecond)
	}
	w.lastTS = now
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

// AddUser adds a person; an empty ID gets a fresh U… ID, which AddUser returns.
func (w *Workspace) AddUser(u User) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if u.ID == "" {
		u.ID = w.newID("U")
	}
	if u.Name == "" {
		u.Name = strings.ToLower(strings.ReplaceAll(u.RealName, " ", "."))
	}
	w.users = append(w.users, &u)
	w.notify(Change{Kind: ChangeUser, User: u.ID})
	return u.ID
}

// AddChannel adds a channel; an empty ID gets a fresh C… ID. The bot is always a member, as an
// app invited to the channel is.
func (w *Workspace) AddChannel(c Channel) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.ID == "" {
		c.ID = w.newID("C")
	}
	c.Members = slices.Clone(c.Members)
	if !c.hasMember(w.cfg.BotUserID) {
		c.Members = append(c.Members, w.cfg.BotUserID)
	}
	w.channels = append(w.channels, &c)
	w.notify(Change{Kind: ChangeChannel, Channel: c.ID})
	return c.ID
}

// AddUserGroup adds a user group; an empty ID gets a fresh S… ID.
func (w *Workspace) AddUserGroup(g UserGroup) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if g.ID == "" {
		g.ID = w.newID("S")
	}
	g.Members = slices.Clone(g.Members)
	w.groups = append(w.groups, &g)
	return g.ID
}

// Seeded names the IDs Seed created.
type Seeded struct {
	Alice, Bob, Carol, Dave string // Alice and Bob approve (group Approvers); Carol, Dave ask
	Approvers               string // user group S…
	Revocations, General    string // channels
}

// Seed fills the workspace with a small organisation: four people, an approvers group and two
// channels everybody is in.
func (w *Workspace) Seed() Seeded {
	var s Seeded
	s.Alice = w.AddUser(User{RealName: "Alice Approver", Name: "alice", Email: "alice@example.com"})
	s.Bob = w.AddUser(User{RealName: "Bob Boss", Name: "bob", Email: "bob@example.com"})
	s.Carol = w.AddUser(User{RealName: "Carol Clerk", Name: "carol", Email: "carol@example.com"})
	s.Dave = w.AddUser(User{RealName: "Dave Developer", Name: "dave", Email: "dave@example.com"})
	everyone := []string{s.Alice, s.Bob, s.Carol, s.Dave}
	s.Approvers = w.AddUserGroup(UserGroup{Handle: "approvers", Name: "Approvers", Members: []string{s.Alice, s.Bob}})
	s.Revocations = w.AddChannel(Channel{Name: "revocations", Members: everyone})
	s.General = w.AddChannel(Channel{Name: "general", Members: everyone})
	return s
}

func (w *Workspace) user(id string) *User {
	for _, u := range w.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (w *Workspace) channel(id string) *Channel {
	for _, c := range w.channels {
		if c.ID == id || "#"+c.Name == id || (c.Name == id && !c.IsIM) {
			return c
		}
	}
	return nil
}

// dmWith returns (creating it if needed) the bot's DM channel with a person.
func (w *Workspace) dmWith(userID string) *Channel {
	for _, c := range w.channels {
		if c.IsIM && c.hasMember(userID) {
			return c
		}
	}
	c := &Channel{ID: w.newID("D"), IsIM: true, Members: []string{userID, w.cfg.BotUserID}}
	w.channels = append(w.channels, c)
	return c
}

func (w *Workspace) findMessage(channel, ts string) *Message {
	for _, m := range w.messages[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// postLocked stores a message, keeps the parent's reply count and notifies.
func (w *Workspace) postLocked(m *Message) {
	m.TS = w.nextTS()
	w.messages[m.Channel] = append(w.messages[m.Channel], m)
	if m.IsReply() {
		if p := w.findMessage(m.Channel, m.ThreadTS); p != nil {
			p.ReplyCount++
		}
	}
	cp := *m
	w.notify(Change{Kind: ChangeMessage, Channel: m.Channel, TS: m.TS, Message: &cp})
}

func (w *Workspace) addEphemeralLocked(e *Ephemeral) {
	e.TS = w.nextTS()
	w.ephem[e.User] = append(w.ephem[e.User], e)
	cp := *e
	w.notify(Change{Kind: ChangeEphemeral, User: e.User, Channel: e.Channel, TS: e.TS, Ephemeral: &cp})
}

// Users returns everyone in the workspace, the bot first.
func (w *Workspace) Users() []User {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]User, 0, len(w.users))
	for _, u := range w.users {
		out = append(out, *u)
	}
	return out
}

// Channels returns every conversation, DMs included, in the order they were made.
func (w *Workspace) Channels() []Channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Channel, 0, len(w.channels))
	for _, c := range w.channels {
		cp := *c
		cp.Members = slices.Clone(c.Members)
		out = append(out, cp)
	}
	return out
}

// UserGroups returns the workspace's user groups.
func (w *Workspace) UserGroups() []UserGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]UserGroup, 0, len(w.groups))
	for _, g := range w.groups {
		cp := *g
		cp.Members = slices.Clone(g.Members)
		out = append(out, cp)
	}
	return out
}
