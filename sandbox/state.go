package sandbox

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

type userView struct {
	fakeslack.User
	Approver bool `json:"approver"`
}

type channelView struct {
	fakeslack.Channel
	Messages []fakeslack.Message `json:"messages"`
	// Replies are each thread's replies, by the parent's ts.
	Replies map[string][]fakeslack.Message `json:"replies"`
}

type slackState struct {
	Me         string                `json:"me"`
	Team       string                `json:"team"`
	BotUserID  string                `json:"bot_user_id"`
	Channel    string                `json:"revocations_channel"`
	Users      []userView            `json:"users"`
	Groups     []fakeslack.UserGroup `json:"groups"`
	Channels   []channelView         `json:"channels"`
	Ephemerals []fakeslack.Ephemeral `json:"ephemerals"`
	Modal      *fakeslack.View       `json:"modal"`
	Connected  bool                  `json:"bot_connected"`
}

// serveSlackState answers what the person ?as= sees: the channels they are in with their
// messages and threads, their ephemerals and their modal, and the people they can switch to.
func (s *Sandbox) serveSlackState(w http.ResponseWriter, r *http.Request) {
	me := r.URL.Query().Get("as")
	if me == "" {
		me = s.World.Requester
	}
	st := slackState{Me: me, Team: "Example Inc.", BotUserID: s.Slack.BotUserID(), Channel: s.World.Channel,
		Groups: s.Slack.UserGroups(), Ephemerals: orEmpty(s.Slack.Ephemerals(me)), Connected: len(s.Slack.Connections()) > 0}
	for _, u := range s.Slack.Users() {
		st.Users = append(st.Users, userView{User: u, Approver: slices.Contains(s.World.Approvers, u.ID)})
	}
	for _, c := range s.Slack.Channels() {
		if !slices.Contains(c.Members, me) {
			continue
		}
		cv := channelView{Channel: c, Messages: orEmpty(s.Slack.Messages(c.ID)), Replies: map[string][]fakeslack.Message{}}
		for _, m := range cv.Messages {
			if m.ReplyCount > 0 {
				cv.Replies[m.TS] = s.Slack.Thread(c.ID, m.TS)[1:]
			}
		}
		st.Channels = append(st.Channels, cv)
	}
	if v, ok := s.Slack.Modal(me); ok {
		st.Modal = &v
	}
	writeJSON(w, http.StatusOK, st)
}

type revocationView struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Person           string    `json:"person"`
	Application      string    `json:"application"`
	Resource         string    `json:"resource"`
	Reason           string    `json:"reason"`
	ProvisioningType string    `json:"provisioning_type"`
	InsertedAt       time.Time `json:"inserted_at"`
	RejectionReason  string    `json:"rejection_reason,omitempty"`
	// Admin is the Slack user who removes an admin-provisioned access, and who says in the
	// request's thread why, when they reject it.
	Admin string `json:"admin,omitempty"`
}

type accessView struct {
	ID          string     `json:"id"`
	Person      string     `json:"person"`
	Application string     `json:"application"`
	Resource    string     `json:"resource"`
	Permissions []string   `json:"permissions"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end"`
}

type callView struct {
	Time    time.Time `json:"time"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Status  int       `json:"status"`
	Dropped bool      `json:"dropped"`
}

type faultView struct {
	LatencyMS  int     `json:"latency_ms"`
	ErrorRate  float64 `json:"error_rate"`
	RateLimits int     `json:"rate_limits"`
	Drops      int     `json:"drops"`
}

type owlState struct {
	Revocations []revocationView `json:"revocations"`
	Access      []accessView     `json:"access_states"`
	Calls       []callView       `json:"calls"`
	Stats       owltest.Stats    `json:"stats"`
	Fault       faultView        `json:"fault"`
}

// serveOwlState answers what the AccessOwl admin panel shows: revocations newest first, access
// states, the latest requests and the faults in force.
func (s *Sandbox) serveOwlState(w http.ResponseWriter, r *http.Request) {
	apps := map[string]owltest.Application{}
	for _, a := range s.Owl.Applications() {
		apps[a.ID] = a
	}
	people := map[string]string{}
	for _, u := range s.Owl.Users() {
		people[u.ID] = u.FullName
	}
	resource := func(app owltest.Application, id string) string {
		for _, r := range app.Resources {
			if r.ID == id {
				return cmp.Or(r.Title, r.Description)
			}
		}
		return ""
	}
	var st owlState
	for _, v := range s.Owl.Revocations() {
		a := apps[v.ApplicationID]
		st.Revocations = append(st.Revocations, revocationView{ID: v.ID, Status: v.Status, Person: people[v.GranteeUserID],
			Application: a.Title, Resource: resource(a, v.ResourceID), Reason: v.Reason, ProvisioningType: v.ProvisioningType,
			InsertedAt: v.InsertedAt, RejectionReason: v.RejectionReason, Admin: s.adminOf(v.ApplicationID)})
	}
	slices.Reverse(st.Revocations)
	for _, as := range s.Owl.AccessStates() {
		a := apps[as.ApplicationID]
		v := accessView{ID: as.ID, Person: cmp.Or(people[as.GranteeUserID], "unlinked account"), Application: a.Title,
			Resource: resource(a, as.ResourceID), Start: as.EffectiveStart, End: as.EffectiveEnd, Permissions: []string{}}
		for _, p := range a.Permissions {
			if slices.Contains(as.TargetPermissionIDs, p.ID) {
				v.Permissions = append(v.Permissions, p.Title)
			}
		}
		st.Access = append(st.Access, v)
	}
	calls := s.Owl.Calls()
	for _, c := range calls[max(0, len(calls)-recentCalls):] {
		st.Calls = append(st.Calls, callView{Time: c.Time, Method: c.Method, Path: c.Path, Status: c.Status, Dropped: c.Dropped})
	}
	slices.Reverse(st.Calls)
	st.Stats = s.Owl.Stats()
	if f, ok := s.Owl.Faults()[""]; ok {
		st.Fault = faultView{LatencyMS: int(f.Latency / time.Millisecond), ErrorRate: f.ServerErrorRate, RateLimits: f.RateLimits, Drops: f.DropAfterCommit}
	}
	writeJSON(w, http.StatusOK, st)
}

// orEmpty makes a nil slice an empty one, so that the page gets [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
