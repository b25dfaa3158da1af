package sandbox

import (
	"strings"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// The cast of the sandbox, from owltest's seed company: who asks first and who approves.
const (
	requesterEmail = "ana.garcia@" + owltest.SeedDomain
	approverEmail  = "ben.okafor@" + owltest.SeedDomain
	approver2Email = "chloe.martin@" + owltest.SeedDomain
)

// World names what the sandbox seeded in Slack.
type World struct {
	Channel       string            // #revocations
	ApproverGroup string            // @it-approvers, the only entry of REVOKE_APPROVERS
	Approvers     []string          // its members
	Requester     string            // who the page starts as
	SlackID       map[string]string // email → Slack user ID
}

// seedWorkspace gives Slack the people of AccessOwl's seed company, matched by email as a real
// company's are, two of them in the approvers' group, everyone in #revocations.
func seedWorkspace(ws *fakeslack.Workspace, owl *owltest.Fake) World {
	w := World{SlackID: map[string]string{}}
	var everyone []string
	for _, u := range owl.Users() {
		id := ws.AddUser(fakeslack.User{Name: strings.Split(u.Email, "@")[0], RealName: u.FullName, Email: u.Email})
		w.SlackID[u.Email] = id
		everyone = append(everyone, id)
	}
	w.Requester = w.SlackID[requesterEmail]
	w.Approvers = []string{w.SlackID[approverEmail], w.SlackID[approver2Email]}
	w.ApproverGroup = ws.AddUserGroup(fakeslack.UserGroup{Handle: "it-approvers", Name: "IT approvers", Members: w.Approvers})
	w.Channel = ws.AddChannel(fakeslack.Channel{Name: "revocations", Members: everyone})
	return w
}
