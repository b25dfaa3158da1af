package revoke

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/secret"
	"revokebot/store"
	"revokebot/store/memstore"
	"revokebot/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testPoll    = 15 * time.Second
	testChannel = "C0REVOKE"
	requesterID = "U0REQUEST"
	approverID  = "U0APPROVER"
	routeList   = "GET /api/v1/access_revocations"
	routeGet    = "GET /api/v1/access_revocations/{id}"
	routePost   = "POST /api/v1/access_revocations"
)

// rig is the lifecycle's world: a fake AccessOwl reached in memory by a real client with its
// retries and budget, a store, and a notifier that keeps what people would see. Built inside a
// synctest bubble, the Fake reads the bubble's clock.
type rig struct {
	t      *testing.T
	owl    *owltest.Fake
	client *apiclient.Client
	store  store.Store
	notes  *notifier
	seq    int
}

func newRig(t *testing.T, st store.Store, owlOpts ...owltest.Option) *rig {
	t.Helper()
	owl := owltest.New(append([]owltest.Option{owltest.WithClock(time.Now)}, owlOpts...)...)
	return &rig{t: t, owl: owl, client: newClient(t, owl, owltest.DefaultToken), store: st, notes: newNotifier()}
}

func newClient(t *testing.T, owl *owltest.Fake, token string) *apiclient.Client {
	t.Helper()
	client, err := apiclient.New("http://owl.test", secret.New(token),
		apiclient.WithHTTPClient(&http.Client{Transport: owl.Transport()}),
		apiclient.WithRand(func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (r *rig) config() Config {
	return Config{Store: r.store, AccessOwl: r.client, Notifier: r.notes, Poll: testPoll, Log: discardLog()}
}

// service returns a Service on the rig, configured by config and mod.
func (r *rig) service(mod ...func(*Config)) *Service {
	r.t.Helper()
	cfg := r.config()
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// run runs s until the returned stop is called, which waits for Run to return.
func run(t *testing.T, s *Service) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	}
}

// request returns a new pending request, not stored yet, for a new person who holds access to
// the application titled app.
func (r *rig) request(app string) store.Request {
	r.t.Helper()
	a, ok := r.owl.ApplicationByTitle(app)
	if !ok {
		r.t.Fatalf("no application %q at the fake AccessOwl", app)
	}
	r.seq++
	u := r.owl.AddUser(owltest.User{Email: fmt.Sprintf("person%d@example.org", r.seq), FirstName: "Person", LastName: fmt.Sprint(r.seq)})
	as := r.owl.AddAccessState(owltest.AccessState{ApplicationID: a.ID, GranteeUserID: u.ID})
	req := storetest.NewRequest(r.seq)
	req.Grantee = store.Person{AccessOwlID: u.ID, Name: u.FullName, Email: u.Email}
	req.Items = []store.Item{{AccessStateID: as.ID, ApplicationID: a.ID, ApplicationTitle: a.Title, ProvisioningType: a.ProvisioningType}}
	req.RequesterID = requesterID
	req.CreatedAt = time.Now()
	return req
}

// save stores req and posts its approval message, as Create does, and returns it as stored.
func (r *rig) save(req store.Request) store.Request {
	r.t.Helper()
	if _, err := r.store.CreateRequest(r.t.Context(), req); err != nil {
		r.t.Fatal(err)
	}
	req.Channel, req.MessageTS = testChannel, r.notes.post(req)
	if err := r.store.SetMessage(r.t.Context(), req.ID, req.Channel, req.MessageTS); err != nil {
		r.t.Fatal(err)
	}
	return req
}

// pending stores and posts a pending request for a new person's access to app.
func (r *rig) pending(app string) store.Request {
	r.t.Helper()
	return r.save(r.request(app))
}

// approved stores a request approved in the store only: as if the process had died between
// the decision and the POST.
func (r *rig) approved(app string) store.Request {
	r.t.Helper()
	req := r.request(app)
	req.State, req.DecidedBy, req.DecidedAt = store.Approved, approverID, time.Now()
	return r.save(req)
}

// submitted files the revocation of a new request at AccessOwl with the request's key and
// stores the request approved with it, as a click leaves it just before it starts tracking; it
// returns both.
func (r *rig) submitted(app string) (store.Request, apiclient.Revocation) {
	r.t.Helper()
	req := r.request(app)
	it := req.Items[0]
	rev, err := r.client.CreateRevocation(r.t.Context(), req.Key(it), apiclient.NewRevocation{AccessStateID: it.AccessStateID, Reason: req.Reason})
	if err != nil {
		r.t.Fatal(err)
	}
	req.State, req.DecidedBy, req.DecidedAt = store.Approved, approverID, time.Now()
	req.Items[0].SubmittedAt, req.Items[0].RevocationID = time.Now(), rev.ID
	return r.save(req), *rev
}

func mustTrack(t *testing.T, s *Service, req store.Request, rev apiclient.Revocation) {
	t.Helper()
	if err := s.track(t.Context(), req, req.Items[0], rev); err != nil {
		t.Fatalf("track: %v", err)
	}
}

func (r *rig) approve(s *Service, req store.Request, by string) Decided {
	r.t.Helper()
	d, err := s.Decide(r.t.Context(), Click{RequestID: req.ID, Decision: store.Decision{State: store.Approved, By: by, At: time.Now()}})
	if err != nil {
		r.t.Fatalf("Decide: %v", err)
	}
	return d
}

// calls counts the requests the fake AccessOwl received on a route.
func (r *rig) calls(route string) int {
	n := 0
	for _, c := range r.owl.Calls() {
		if c.Route == route {
			n++
		}
	}
	return n
}

// maxPerHour is the most requests the fake AccessOwl received in any rolling hour.
func (r *rig) maxPerHour() int {
	calls := r.owl.Calls()
	most, first := 0, 0
	for last := range calls {
		for calls[last].Time.Sub(calls[first].Time) >= time.Hour {
			first++
		}
		most = max(most, last-first+1)
	}
	return most
}

// revocationsOf returns the revocations AccessOwl holds of an access state.
func (r *rig) revocationsOf(accessStateID string) []owltest.Revocation {
	var out []owltest.Revocation
	for _, rev := range r.owl.Revocations() {
		if rev.AccessStateID == accessStateID {
			out = append(out, rev)
		}
	}
	return out
}

// audited returns the outcomes of a request's audit records of one action, in order.
func (r *rig) audited(id uuid.UUID, action store.Action) []store.Outcome {
	r.t.Helper()
	trail, err := r.store.AuditTrail(r.t.Context(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []store.Outcome
	for _, a := range trail {
		if a.Action == action {
			out = append(out, a.Outcome)
		}
	}
	return out
}

// wantAudited checks the outcomes of a request's audit records of one action, in order.
func (r *rig) wantAudited(id uuid.UUID, action store.Action, want ...store.Outcome) {
	r.t.Helper()
	if diff := cmp.Diff(want, r.audited(id, action)); diff != "" {
		r.t.Errorf("%s audited (-want +got):\n%s", action, diff)
	}
}

// wantStatuses checks the statuses announced in a thread, in order.
func (r *rig) wantStatuses(ts string, want ...store.Status) {
	r.t.Helper()
	if diff := cmp.Diff(want, r.notes.statuses(ts)); diff != "" {
		r.t.Errorf("statuses announced (-want +got):\n%s", diff)
	}
}

// fileAtAccessOwl sends req's first item to AccessOwl with its key, as another replica or a
// process that died before recording it would have.
func (r *rig) fileAtAccessOwl(req store.Request) {
	r.t.Helper()
	it := req.Items[0]
	if _, err := r.client.CreateRevocation(r.t.Context(), req.Key(it), apiclient.NewRevocation{AccessStateID: it.AccessStateID, Reason: req.Reason}); err != nil {
		r.t.Fatal(err)
	}
}

// notifier is a Notifier that keeps what Slack would show: approval messages, their updates and
// their threads. It can be told to fail the next replies.
type notifier struct {
	mu       sync.Mutex
	seq      int
	messages map[string]store.Request // approval messages by ts, as last shown
	updates  map[string][]store.Request
	replies  []reply
	failures int
	hold     chan struct{} // while set and open, replies wait for their turn
	// waiting are the status replies waiting for their turn, by revocation: a newer one takes
	// the place of an older one, which gives up, as bot's PostReplacing does.
	waiting map[string]chan struct{}
	// listPages is what ListPages answers for a request with several accesses.
	listPages int
	// rewrites are the updates of replies kept up to date, by the reply's ts.
	rewrites map[string][]store.Request
	// postStarted and postGate, when set, make PostRequest say it started and then wait for
	// the gate, as a post waiting for Slack's pacing does.
	postStarted chan struct{}
	postGate    chan struct{}
}

// reply is a thread reply as the notifier was asked to post it.
type reply struct {
	ThreadTS, TS string
	Event        Event
	Request      store.Request
	At           time.Time
}

var _ Notifier = (*notifier)(nil)

func newNotifier() *notifier {
	return &notifier{messages: make(map[string]store.Request), updates: make(map[string][]store.Request), rewrites: make(map[string][]store.Request)}
}

func (n *notifier) post(r store.Request) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	ts := fmt.Sprintf("1700000000.%06d", n.seq)
	n.messages[ts] = r
	return ts
}

func (n *notifier) PostRequest(_ context.Context, r store.Request) (string, error) {
	n.mu.Lock()
	started, gate := n.postStarted, n.postGate
	n.mu.Unlock()
	if gate != nil {
		started <- struct{}{}
		<-gate
	}
	return n.post(r), nil
}

func (n *notifier) UpdateRequest(_ context.Context, r store.Request) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.messages[r.MessageTS]; !ok {
		return fmt.Errorf("fake notifier: no message %s", r.MessageTS)
	}
	n.messages[r.MessageTS] = r
	n.updates[r.MessageTS] = append(n.updates[r.MessageTS], r)
	return nil
}

func (n *notifier) Reply(ctx context.Context, r store.Request, e Event) (string, error) {
	n.mu.Lock()
	hold := n.hold
	replaced := make(chan struct{})
	if hold != nil && e.Kind == StatusChanged {
		if n.waiting == nil {
			n.waiting = make(map[string]chan struct{})
		}
		if older, ok := n.waiting[e.RevocationID]; ok {
			close(older)
		}
		n.waiting[e.RevocationID] = replaced
	}
	n.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-replaced:
			return "", fmt.Errorf("fake notifier: %w: replaced", ErrNotSent)
		case <-ctx.Done():
			return "", fmt.Errorf("fake notifier: %w: %w", ErrNotSent, ctx.Err())
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failures > 0 {
		n.failures--
		return "", fmt.Errorf("fake notifier: Slack is down")
	}
	n.seq++
	ts := fmt.Sprintf("1700000000.%06d", n.seq)
	n.replies = append(n.replies, reply{ThreadTS: r.MessageTS, TS: ts, Event: e, Request: r, At: time.Now()})
	return ts, nil
}

func (n *notifier) FindReply(_ context.Context, r store.Request, e Event) (string, bool, error) {
	for _, rep := range n.thread(r.MessageTS) {
		if rep.Event.Key() == e.Key() {
			return rep.TS, true, nil
		}
	}
	return "", false, nil
}

func (n *notifier) UpdateReply(_ context.Context, r store.Request, ts string, e Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.ContainsFunc(n.replies, func(rep reply) bool { return rep.TS == ts && rep.Event.Key() == e.Key() }) {
		return fmt.Errorf("fake notifier: no reply %s about %s", ts, e.Key())
	}
	n.rewrites[ts] = append(n.rewrites[ts], r)
	return nil
}

func (n *notifier) ListPages(r store.Request) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(r.Items) < 2 {
		return 0
	}
	return n.listPages
}

// progressShown returns the request as the progress reply of a thread last showed it: posted,
// then rewritten.
func (n *notifier) progressShown(threadTS string) (store.Request, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, rep := range n.replies {
		if rep.ThreadTS == threadTS && rep.Event.Kind == Progress {
			if rw := n.rewrites[rep.TS]; len(rw) > 0 {
				return rw[len(rw)-1], true
			}
			return rep.Request, true
		}
	}
	return store.Request{}, false
}

// thread returns the replies in a thread, oldest first.
func (n *notifier) thread(ts string) []reply {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []reply
	for _, rep := range n.replies {
		if rep.ThreadTS == ts {
			out = append(out, rep)
		}
	}
	return out
}

// statuses returns the statuses announced in a thread, in order.
func (n *notifier) statuses(ts string) []store.Status { return n.statusesOf(ts, "") }

// statusesOf returns the statuses of one revocation announced in a thread, or of any when
// revocationID is empty.
func (n *notifier) statusesOf(ts, revocationID string) []store.Status {
	var out []store.Status
	for _, rep := range n.thread(ts) {
		if rep.Event.Kind == StatusChanged && (revocationID == "" || rep.Event.RevocationID == revocationID) {
			out = append(out, rep.Event.Status)
		}
	}
	return out
}

// kinds returns the kinds of the replies in a thread, in order.
func (n *notifier) kinds(ts string) []Kind {
	var out []Kind
	for _, rep := range n.thread(ts) {
		out = append(out, rep.Event.Kind)
	}
	return out
}

// updatesOf returns the approval message's updates, oldest first.
func (n *notifier) updatesOf(ts string) []store.Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.updates[ts])
}

// shown returns the approval message as last shown.
func (n *notifier) shown(ts string) store.Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.messages[ts]
}

// holdReplies makes replies wait for their turn, as Slack's pacing would, until release is
// called.
func (n *notifier) holdReplies() (release func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hold = make(chan struct{})
	return func() { close(n.hold) }
}

func (n *notifier) failReplies(count int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failures = count
}

func newMemStore() store.Store { return memstore.New() }
