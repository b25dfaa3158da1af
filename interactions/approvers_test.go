package interactions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"revokebot/store"
)

// fakeGroups answers usergroups.users.list from a map and counts the calls, and users.info from
// a map of emails.
type fakeGroups struct {
	mu      sync.Mutex
	members map[string][]string
	emails  map[string]string
	err     error
	calls   atomic.Int32
}

var _ Directory = (*fakeGroups)(nil)

func (f *fakeGroups) GetUserInfoContext(_ context.Context, user string, _ ...slack.GetUserInfoOption) (*slack.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	u := &slack.User{ID: user}
	u.Profile.Email = f.emails[user]
	return u, nil
}

func (f *fakeGroups) GetUserGroupMembersContext(_ context.Context, group string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.members[group], nil
}

func (f *fakeGroups) set(group string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[group] = members
}

func TestApproversDecideWhoMayDecide(t *testing.T) {
	groups := &fakeGroups{members: map[string][]string{"S0SEC": {"U0GROUPIE"}}}
	strict := NewApprovers([]string{"U0BOSS"}, []string{"S0SEC"}, false, groups, nil)
	lenient := NewApprovers([]string{"U0BOSS"}, nil, true, groups, nil)

	tests := []struct {
		name      string
		policy    *Approvers
		user      string
		action    Action
		requester string
		want      error
	}{
		{"a listed user may approve", strict, "U0BOSS", Approve, "U0ASKER", nil},
		{"a listed user may reject", strict, "U0BOSS", Reject, "U0ASKER", nil},
		{"a member of a listed group may approve", strict, "U0GROUPIE", Approve, "U0ASKER", nil},
		{"anyone else may not approve", strict, "U0STRANGER", Approve, "U0ASKER", errNotApprover},
		{"anyone else may not reject", strict, "U0STRANGER", Reject, "U0ASKER", errNotApprover},
		{"an approver may not approve their own request", strict, "U0BOSS", Approve, "U0BOSS", errSelfApprove},
		{"an approver may reject their own request", strict, "U0BOSS", Reject, "U0BOSS", nil},
		{"self-approval when allowed", lenient, "U0BOSS", Approve, "U0BOSS", nil},
		{"allowing self-approval admits no one else", lenient, "U0STRANGER", Approve, "U0STRANGER", errNotApprover},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Check(t.Context(), tt.user, tt.action, requestBy(tt.requester)); got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

// requestBy is a stored request asked for by requester, for someone else's access.
func requestBy(requester string) store.Request {
	return store.Request{RequesterID: requester, Grantee: store.Person{SlackID: "U0LEAVER", Email: "leaver@example.com"}}
}

func TestNobodyDecidesOnTheirOwnAccess(t *testing.T) {
	groups := &fakeGroups{members: map[string][]string{}, emails: map[string]string{"U0BOSS": "Boss@Example.com"}}
	for _, allow := range []bool{false, true} {
		policy := NewApprovers([]string{"U0BOSS"}, nil, allow, groups, nil)
		tests := []struct {
			name    string
			grantee store.Person
			want    error
		}{
			{"known by Slack ID", store.Person{SlackID: "U0BOSS", Email: "boss@example.com"}, errOwnAccess},
			{"known by email only, matched whatever its case", store.Person{Email: "boss@example.com"}, errOwnAccess},
			{"someone else's access", store.Person{Email: "other@example.com"}, nil},
			{"a request that does not know whose access it is", store.Person{}, nil},
		}
		for _, tt := range tests {
			for _, action := range []Action{Approve, Reject} {
				r := store.Request{RequesterID: "U0ASKER", Grantee: tt.grantee}
				if got := policy.Check(t.Context(), "U0BOSS", action, r); got != tt.want {
					t.Errorf("self-approval allowed %v, %s, %s: Check = %v, want %v", allow, tt.name, action, got, tt.want)
				}
			}
		}
	}
}

func TestGroupMembersAreCachedBriefly(t *testing.T) {
	groups := &fakeGroups{members: map[string][]string{"S0SEC": {"U0A"}}}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	policy := NewApprovers(nil, []string{"S0SEC"}, false, groups, func() time.Time { return now })

	if err := policy.Check(t.Context(), "U0A", Approve, requestBy("U0X")); err != nil {
		t.Fatalf("member refused: %v", err)
	}
	groups.set("S0SEC") // U0A leaves the group
	if err := policy.Check(t.Context(), "U0A", Approve, requestBy("U0X")); err != nil {
		t.Fatalf("within the cache's life the old membership holds, got %v", err)
	}
	if got := groups.calls.Load(); got != 1 {
		t.Errorf("%d Slack calls within the cache's life, want 1", got)
	}
	now = now.Add(groupMembersTTL)
	if err := policy.Check(t.Context(), "U0A", Approve, requestBy("U0X")); err != errNotApprover {
		t.Errorf("after the cache expires a former member gets %v, want %v", err, errNotApprover)
	}
}

func TestApproversFailClosedWhenSlackCannotSay(t *testing.T) {
	groups := &fakeGroups{err: errors.New("slack is down")}
	policy := NewApprovers([]string{"U0BOSS"}, []string{"S0SEC"}, false, groups, nil)
	err := policy.Check(t.Context(), "U0MAYBE", Approve, requestBy("U0X"))
	var refusal *Refusal
	if err == nil || errors.As(err, &refusal) || !strings.Contains(err.Error(), "slack is down") {
		t.Errorf("Check = %v; want Slack's error, not a permission", err)
	}
	if err := policy.Check(t.Context(), "U0BOSS", Approve, requestBy("U0X")); err != nil {
		t.Errorf("a listed user needs no Slack call, got %v", err)
	}
}

func TestConcurrentClicksShareOneGroupLookup(t *testing.T) {
	release := make(chan struct{})
	groups := &blockingGroups{release: release, members: []string{"U0A"}, entered: make(chan struct{})}
	policy := NewApprovers(nil, []string{"S0SEC"}, false, groups, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := policy.Check(t.Context(), "U0A", Approve, requestBy("U0X")); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
	groups.waitForCaller(t)
	close(release)
	wg.Wait()
	if got := groups.calls.Load(); got > 2 {
		// One call answers everyone waiting; a click that arrives after it finished but before
		// the cache entry is visible may make a second.
		t.Errorf("%d Slack calls for 20 concurrent clicks, want 1 (2 at most)", got)
	}
}

// blockingGroups holds every Slack call until release is closed.
type blockingGroups struct {
	release <-chan struct{}
	members []string
	calls   atomic.Int32
	once    sync.Once
	entered chan struct{} // closed when the first call starts
}

func (b *blockingGroups) GetUserInfoContext(context.Context, string, ...slack.GetUserInfoOption) (*slack.User, error) {
	return &slack.User{}, nil
}

func (b *blockingGroups) GetUserGroupMembersContext(ctx context.Context, _ string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	b.calls.Add(1)
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return b.members, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *blockingGroups) waitForCaller(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case <-b.entered:
	case <-ctx.Done():
		t.Fatal("no Slack call within 10s")
	}
}

func TestParseApprovers(t *testing.T) {
	users, groups, err := ParseApprovers([]string{" U0A ", "W0B", "S0C", ""})
	if err != nil || strings.Join(users, ",") != "U0A,W0B" || strings.Join(groups, ",") != "S0C" {
		t.Errorf("ParseApprovers = %v, %v, %v", users, groups, err)
	}
	for _, bad := range [][]string{nil, {""}, {"alice"}, {"C0CHANNEL"}, {"u0lower"}} {
		if _, _, err := ParseApprovers(bad); err == nil {
			t.Errorf("ParseApprovers(%q) accepted", bad)
		}
	}
}
