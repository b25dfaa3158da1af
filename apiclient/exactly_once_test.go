package apiclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/secret"
)

// revocationServer is just enough of AccessOwl to submit and list revocations: it remembers
// idempotency keys (409 on a repeat, no replay), and it can commit a submission and then drop
// the connection before answering, as a crash or a lost response would.
type revocationServer struct {
	mu          sync.Mutex
	keys        map[string]bool
	revocations []Revocation
	dropAnswers int // how many committed submissions to leave unanswered
}

func (s *revocationServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/access_revocations", s.create)
	mux.HandleFunc("GET /api/v1/access_revocations", s.list)
	mux.HandleFunc("GET /api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(http.StatusOK, `{"data":{"id":"`+r.PathValue("id")+`"}}`)(w, r)
	})
	return mux
}

func (s *revocationServer) create(w http.ResponseWriter, r *http.Request) {
	var body NewRevocation
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"errors":{"detail":"bad json"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	key := r.Header.Get("Idempotency-Key")
	if s.keys[key] {
		s.mu.Unlock()
		reply(http.StatusConflict, `{"errors":{"detail":"Conflict"}}`)(w, r)
		return
	}
	s.keys[key] = true
	grantee, app := "user-1", "app-1"
	rev := Revocation{ID: "rev-new", ApplicationID: app, Reason: body.Reason, Status: RevocationProcessing,
		GranteeUserID: &grantee, InsertedAt: time.Now().UTC().Truncate(time.Second)}
	s.revocations = append(s.revocations, rev)
	drop := s.dropAnswers > 0
	s.dropAnswers--
	s.mu.Unlock()
	if drop {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(rev)
}

// list serves revocations one to a page, so FindRevocation has to follow cursors.
func (s *revocationServer) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var matching []Revocation
	for _, rev := range s.revocations {
		if deref(rev.GranteeUserID) == r.URL.Query().Get("user_id") && rev.ApplicationID == r.URL.Query().Get("application_id") {
			matching = append(matching, rev)
		}
	}
	i := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		i = int(c[0] - '0')
	}
	page := map[string]any{"data": matching[i:min(i+1, len(matching))], "meta": map[string]any{"next_cursor": nil}}
	if i+1 < len(matching) {
		page["meta"] = map[string]any{"next_cursor": string(rune('0' + i + 1))}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func (s *revocationServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// decoys are revocations FindRevocation must not pick: the same person and application, but
// older than the submission, for a resource, or with another reason.
func decoys() []Revocation {
	grantee, resource := "user-1", "res-9"
	at := time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC)
	return []Revocation{
		{ID: "rev-old", ApplicationID: "app-1", Reason: "left the team", GranteeUserID: &grantee, InsertedAt: at},
		{ID: "rev-resource", ApplicationID: "app-1", Reason: "left the team", GranteeUserID: &grantee, ResourceID: &resource, InsertedAt: at.Add(2 * time.Hour)},
		{ID: "rev-other-reason", ApplicationID: "app-1", Reason: "contract ended", GranteeUserID: &grantee, InsertedAt: at.Add(2 * time.Hour)},
	}
}

// checkExactlyOnce submits one revocation whose first answer is lost and checks the whole
// recovery: a 409 that says our attempt got through, and FindRevocation finding the one
// revocation that exists.
func checkExactlyOnce(t *testing.T, c *Client, srv *revocationServer) {
	t.Helper()
	req := NewRevocation{AccessStateID: "as-1", Reason: "left the team"}
	_, err := c.CreateRevocation(t.Context(), "request-7", req)
	var already *AlreadySubmittedError
	if !errors.As(err, &already) || !errors.Is(err, ErrAlreadySubmitted) {
		t.Fatalf("CreateRevocation: err = %v, want an *AlreadySubmittedError", err)
	}
	if !already.EarlierAttemptUnseen {
		t.Errorf("EarlierAttemptUnseen = false, want true: our own first attempt got through")
	}
	rev, err := c.FindRevocation(t.Context(), RevocationQuery{
		GranteeUserID: "user-1", ApplicationID: "app-1", Reason: req.Reason, Since: already.FirstAttemptAt,
	})
	if err != nil {
		t.Fatalf("FindRevocation: %v", err)
	}
	if rev.ID != "rev-new" {
		t.Errorf("FindRevocation found %s, want rev-new", rev.ID)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("AccessOwl processed %d submissions, want exactly 1", n)
	}
}

func TestCommittedButUnansweredPostIsFoundAfterThe409(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &revocationServer{keys: map[string]bool{}, revocations: decoys(), dropAnswers: 1}
		checkExactlyOnce(t, newTestClient(t, srv.handler()), srv)
	})
}

// Over a real connection net/http itself resends a request that carries an Idempotency-Key
// when a reused connection breaks; the client must still know its first copy went unseen.
func TestCommittedButUnansweredPostOverRealHTTPIsFoundAfterThe409(t *testing.T) {
	srv := &revocationServer{keys: map[string]bool{}, revocations: decoys(), dropAnswers: 1}
	mux := http.NewServeMux()
	mux.Handle(testPrefix+"/", http.StripPrefix(testPrefix, srv.handler()))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := New(ts.URL+testPrefix, secret.New(testToken), WithHTTPClient(&http.Client{Transport: tr}),
		WithRetry(4, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Warm a connection so the POST goes over a reused one, the case net/http replays.
	if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, c, srv)
}

func TestFindRevocation(t *testing.T) {
	grantee, res := "user-1", "res-1"
	since := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	rev := func(id, resource, reason string, at time.Time) Revocation {
		r := Revocation{ID: id, ApplicationID: "app-1", Reason: reason, GranteeUserID: &grantee, InsertedAt: at}
		if resource != "" {
			r.ResourceID = &resource
		}
		return r
	}
	tests := []struct {
		name   string
		query  RevocationQuery
		have   []Revocation
		wantID string // "" means ErrNotFound
	}{
		{
			name:   "matches resource, reason and time",
			query:  RevocationQuery{ResourceID: res, Reason: "gone"},
			have:   []Revocation{rev("a", res, "gone", since.Add(time.Second))},
			wantID: "a",
		},
		{
			name:  "a revocation from before the first attempt is not ours",
			query: RevocationQuery{ResourceID: res, Reason: "gone"},
			have:  []Revocation{rev("a", res, "gone", since.Add(-time.Hour))},
		},
		{
			name:   "a server clock a little behind ours is allowed for",
			query:  RevocationQuery{ResourceID: res, Reason: "gone"},
			have:   []Revocation{rev("a", res, "gone", since.Add(-time.Minute))},
			wantID: "a",
		},
		{
			name:  "another resource is not ours",
			query: RevocationQuery{ResourceID: res, Reason: "gone"},
			have:  []Revocation{rev("a", "res-2", "gone", since), rev("b", "", "gone", since)},
		},
		{
			name:   "an application-wide query matches only application-wide revocations",
			query:  RevocationQuery{Reason: "gone"},
			have:   []Revocation{rev("a", res, "gone", since), rev("b", "", "gone", since)},
			wantID: "b",
		},
		{
			name:  "another reason is not ours",
			query: RevocationQuery{ResourceID: res, Reason: "gone"},
			have:  []Revocation{rev("a", res, "other", since)},
		},
		{
			name:  "other permissions are not ours when permissions are asked for",
			query: RevocationQuery{ResourceID: res, Reason: "gone", PermissionIDs: []string{"p2", "p1"}},
			have: []Revocation{
				func() Revocation { r := rev("a", res, "gone", since); r.PermissionIDs = []string{"p3"}; return r }(),
				func() Revocation { r := rev("b", res, "gone", since); r.PermissionIDs = []string{"p1", "p2"}; return r }(),
			},
			wantID: "b",
		},
		{
			name:   "of several matches the newest wins, whatever the page",
			query:  RevocationQuery{ResourceID: res, Reason: "gone"},
			have:   []Revocation{rev("a", res, "gone", since), rev("c", res, "gone", since.Add(2*time.Second)), rev("b", res, "gone", since.Add(time.Second))},
			wantID: "c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &revocationServer{keys: map[string]bool{}, revocations: tt.have}
			c := newTestClient(t, srv.handler())
			q := tt.query
			q.GranteeUserID, q.ApplicationID, q.Since = "user-1", "app-1", since
			got, err := c.FindRevocation(t.Context(), q)
			if tt.wantID == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("FindRevocation = %v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantID, got.ID); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
		})
	}
}
