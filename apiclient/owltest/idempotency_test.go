package owltest_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestIdempotencyKey(t *testing.T) {
	const path = "/api/v1/access_revocations"
	type step struct {
		key     string // sent as Idempotency-Key; "-" sends none
		reason  string // the body's reason; "" sends the first step's
		path    string // "" is path
		token   string // "" is the default
		advance time.Duration
		want    int
	}
	tests := []struct {
		name  string
		opts  []owltest.Option
		fault *owltest.Fault
		steps []step
		// revocations is how many the steps create.
		revocations int
	}{
		{name: "the first request with a key is processed",
			steps: []step{{key: "k1", reason: "Offboarding", want: http.StatusCreated}}, revocations: 1},
		{name: "same key and body answers 409 and creates nothing",
			steps: []step{{key: "k1", reason: "Offboarding", want: http.StatusCreated}, {key: "k1", want: http.StatusConflict},
				{key: "k1", want: http.StatusConflict}},
			revocations: 1},
		{name: "same key and different body answers 422 and creates nothing",
			steps: []step{{key: "k1", reason: "Offboarding", want: http.StatusCreated},
				{key: "k1", reason: "Offboarding.", want: http.StatusUnprocessableEntity}},
			revocations: 1},
		{name: "same key on another route answers 422",
			steps: []step{{key: "k1", reason: "Offboarding", want: http.StatusCreated},
				{key: "k1", path: path + "/00000000-0000-4000-8000-000000000000/revoke", want: http.StatusUnprocessableEntity}},
			revocations: 1},
		{name: "without a key every request is processed",
			steps: []step{{key: "-", reason: "Offboarding", want: http.StatusCreated},
				{key: "-", want: http.StatusUnprocessableEntity}}, // the access now has a revocation in progress
			revocations: 1},
		{name: "an empty key answers 400 and creates nothing",
			steps: []step{{key: "", reason: "Offboarding", want: http.StatusBadRequest}}},
		{name: "a key of 255 characters is accepted",
			steps: []step{{key: strings.Repeat("k", 255), reason: "Offboarding", want: http.StatusCreated}}, revocations: 1},
		{name: "a key of 256 characters answers 400 and creates nothing",
			steps: []step{{key: strings.Repeat("k", 256), reason: "Offboarding", want: http.StatusBadRequest}}},
		{name: "a key is used up by a request refused with 422",
			steps: []step{{key: "k1", reason: strings.Repeat("x", 256), want: http.StatusUnprocessableEntity},
				{key: "k1", want: http.StatusConflict}}},
		{name: "a key is not used up by a 401",
			steps: []step{{key: "k1", reason: "Offboarding", token: "wrong", want: http.StatusUnauthorized},
				{key: "k1", want: http.StatusCreated}},
			revocations: 1},
		{name: "a key is not used up by a 403",
			opts: []owltest.Option{owltest.WithReadOnlyToken("ro")},
			steps: []step{{key: "k1", reason: "Offboarding", token: "ro", want: http.StatusForbidden},
				{key: "k1", want: http.StatusCreated}},
			revocations: 1},
		{name: "a key is not used up by a 429",
			opts: []owltest.Option{owltest.WithRateLimit(1)},
			steps: []step{{key: "-", path: path + "/00000000-0000-4000-8000-000000000000/revoke", want: http.StatusNotFound},
				{key: "k1", reason: "Offboarding", want: http.StatusTooManyRequests},
				{key: "k1", advance: time.Hour, want: http.StatusCreated}},
			revocations: 1},
		{name: "a key is not used up by an injected 503",
			fault: &owltest.Fault{ServerErrors: 1},
			steps: []step{{key: "k1", reason: "Offboarding", want: http.StatusServiceUnavailable},
				{key: "k1", want: http.StatusCreated}},
			revocations: 1},
		{name: "keys belong to the organisation, not the token",
			opts: []owltest.Option{owltest.WithTokens("t1", "t2")},
			steps: []step{{key: "k1", reason: "Offboarding", token: "t1", want: http.StatusCreated},
				{key: "k1", token: "t2", want: http.StatusConflict}},
			revocations: 1},
		{name: "a key is remembered for 14 days",
			steps: []step{{key: "k1", reason: strings.Repeat("x", 256), want: http.StatusUnprocessableEntity},
				{key: "k1", advance: 14*24*time.Hour - time.Second, want: http.StatusConflict}}},
		{name: "a key is forgotten after 14 days",
			steps: []step{{key: "k1", reason: strings.Repeat("x", 256), want: http.StatusUnprocessableEntity},
				{key: "k1", advance: 14 * 24 * time.Hour, want: http.StatusUnprocessableEntity},
				{key: "k1", want: http.StatusConflict}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, append([]owltest.Option{owltest.WithClock(clk.Now), owltest.WithRateLimit(1000)}, tt.opts...)...)
			if tt.fault != nil {
				a.srv.SetFault("POST "+path, *tt.fault)
			}
			state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
			reason := tt.steps[0].reason
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if s.reason != "" {
					reason = s.reason
				}
				p := path
				if s.path != "" {
					p = s.path
				}
				a.token = owltest.DefaultToken
				if s.token != "" {
					a.token = s.token
				}
				var header []string
				if s.key != "-" {
					header = []string{"Idempotency-Key", s.key}
				}
				r := a.do(http.MethodPost, p, revocationBody(state.ID, reason), header...)
				if r.status != s.want {
					t.Fatalf("step %d: status %d, want %d; body %s", i, r.status, s.want, r.body)
				}
			}
			if got := len(revocationsOf(a.srv.Fake, state.ID)); got != tt.revocations {
				t.Errorf("%d revocations, want %d", got, tt.revocations)
			}
		})
	}
}

func TestAKeyForgottenAfter14DaysFilesAgain(t *testing.T) {
	clk := newClock()
	a := newAPI(t, owltest.WithClock(clk.Now))
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	body := revocationBody(state.ID, "Leaving the platform team")
	var first wireRevocation
	a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusCreated).data(t, &first)
	if _, err := a.srv.Reject(first.ID, "Still on call this month"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(14*24*time.Hour - time.Second)
	a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusConflict)
	clk.Advance(time.Second)
	a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusCreated)
	if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 2 {
		t.Errorf("%d revocations, want 2", got)
	}
}

func TestIdempotencyKeyErrorsAreJSON(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	body := revocationBody(state.ID, "Offboarding")
	tests := []struct {
		name  string
		key   string
		body  string
		want  int
		field string
	}{
		{"an empty key names idempotency_key", "", body, http.StatusBadRequest, "idempotency_key"},
		{"a reused key with another body names idempotency_key", "used", body + " ", http.StatusUnprocessableEntity, "idempotency_key"},
		{"a reused key with the same body says it was received", "used", body, http.StatusConflict, "detail"},
	}
	a.post("/api/v1/access_revocations", body, "used").expect(t, http.StatusCreated)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodPost, "/api/v1/access_revocations", tt.body, "Idempotency-Key", tt.key).expect(t, tt.want)
			if _, ok := r.errorsOf(t)[tt.field]; !ok {
				t.Errorf("errors %s do not name %s", r.body, tt.field)
			}
		})
	}
}

func TestGETIgnoresIdempotencyKey(t *testing.T) {
	a := newAPI(t)
	for range 2 {
		a.do(http.MethodGet, "/api/v1/users", "", "Idempotency-Key", "k1").expect(t, http.StatusOK)
	}
	a.do(http.MethodGet, "/api/v1/users", "", "Idempotency-Key", "").expect(t, http.StatusOK)
}

func TestConcurrentSubmissionsFileOneRevocation(t *testing.T) {
	tests := []struct {
		name string
		key  func(i int) string
		// want counts answers by status.
		want map[int]int
	}{
		{"one key from many replicas: one 201, the rest 409", func(int) string { return "k1" },
			map[int]int{http.StatusCreated: 1, http.StatusConflict: 19}},
		{"many keys for one access: one 201, the rest 422", func(i int) string { return "k" + strconv.Itoa(i) },
			map[int]int{http.StatusCreated: 1, http.StatusUnprocessableEntity: 19}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t)
			state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
			body := revocationBody(state.ID, "Offboarding")
			statuses := make(chan int, 20)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					r, err := a.send(t.Context(), a.client, http.MethodPost, "/api/v1/access_revocations", body,
						"Idempotency-Key", tt.key(i))
					if err != nil {
						t.Error(err)
						return
					}
					statuses <- r.status
				})
			}
			wg.Wait()
			close(statuses)
			got := make(map[int]int)
			for s := range statuses {
				got[s]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers by status (-want +got):\n%s", diff)
			}
			if n := len(revocationsOf(a.srv.Fake, state.ID)); n != 1 {
				t.Errorf("%d revocations, want 1", n)
			}
		})
	}
}
