package owltest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestCreateRevocation(t *testing.T) {
	clk := newClock()
	clk.Advance(1500 * time.Millisecond)
	a := newAPI(t, owltest.WithClock(clk.Now))
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	var got wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(state.ID, "Leaving the platform team"), "").
		expect(t, http.StatusCreated).data(t, &got)

	want := wireRevocation{
		ID:               got.ID,
		ApplicationID:    state.ApplicationID,
		Reason:           "Leaving the platform team",
		Status:           owltest.Processing,
		GranteeUserID:    ptr(state.GranteeUserID),
		RequestorUserID:  nil,
		ResourceID:       ptr(state.ResourceID),
		PermissionIDs:    state.TargetPermissionIDs,
		ProvisioningType: owltest.ApplicationAdmin,
		InsertedAt:       start.Add(time.Second), // to the second, as AccessOwl's timestamps are
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created revocation (-want +got):\n%s", diff)
	}
	var fetched wireRevocation
	a.get("/api/v1/access_revocations/"+got.ID).expect(t, http.StatusOK).data(t, &fetched)
	if diff := cmp.Diff(got, fetched); diff != "" {
		t.Errorf("GET differs from the POST's answer (-post +get):\n%s", diff)
	}
	if s := a.srv.Stats(); s.RevocationsCreated != 1 {
		t.Errorf("RevocationsCreated %d, want 1", s.RevocationsCreated)
	}
}

func TestRevocationRules(t *testing.T) {
	a := newAPI(t)
	f := a.srv.Fake
	active := activeState(t, f, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	busy := activeState(t, f, owltest.SeedOffboardedEmail, owltest.SeedAdminApp)
	if _, err := f.CreateRevocation(busy.ID, "Offboarding"); err != nil {
		t.Fatal(err)
	}
	var ended owltest.AccessState
	for _, s := range f.AccessStates() {
		if !s.Active() {
			ended = s
		}
	}
	tests := []struct {
		name   string
		body   string
		want   int
		fields []string // named in errors
	}{
		{"an unknown access state answers 422", revocationBody("00000000-0000-4000-8000-000000000000", "Offboarding"),
			http.StatusUnprocessableEntity, []string{"access_state_id"}},
		{"an access state that has ended answers 422", revocationBody(ended.ID, "Offboarding"),
			http.StatusUnprocessableEntity, []string{"access_state_id"}},
		{"an access state with a revocation in progress answers 422", revocationBody(busy.ID, "Offboarding again"),
			http.StatusUnprocessableEntity, []string{"access_state_id"}},
		{"a malformed access state ID answers 422", revocationBody("dev-aws", "Offboarding"),
			http.StatusUnprocessableEntity, []string{"access_state_id"}},
		{"an empty reason answers 422", revocationBody(active.ID, ""), http.StatusUnprocessableEntity, []string{"reason"}},
		{"a reason of spaces is blank", revocationBody(active.ID, "  \t "), http.StatusUnprocessableEntity, []string{"reason"}},
		{"a reason over 255 characters answers 422", revocationBody(active.ID, strings.Repeat("é", 256)),
			http.StatusUnprocessableEntity, []string{"reason"}},
		{"every field is checked at once", `{}`, http.StatusUnprocessableEntity, []string{"access_state_id", "reason"}},
		{"an empty body is an empty object", "", http.StatusUnprocessableEntity, []string{"access_state_id", "reason"}},
		{"a field of the wrong type answers 422", `{"access_state_id": 7, "reason": ["x"]}`,
			http.StatusUnprocessableEntity, []string{"access_state_id", "reason"}},
		{"a body that is not JSON answers 400", `{"access_state_id":`, http.StatusBadRequest, []string{"detail"}},
		{"a body that is not an object answers 400", `["x"]`, http.StatusBadRequest, []string{"detail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.Revocations())
			r := a.post("/api/v1/access_revocations", tt.body, "").expect(t, tt.want)
			var got []string
			for field := range r.errorsOf(t) {
				got = append(got, field)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("error fields (-want +got):\n%s\nbody %s", diff, r.body)
			}
			if after := len(f.Revocations()); after != before {
				t.Errorf("%d revocations after a refusal, want %d", after, before)
			}
		})
	}
	t.Run("a reason of 255 characters is accepted", func(t *testing.T) {
		a.post("/api/v1/access_revocations", revocationBody(active.ID, strings.Repeat("é", 255)), "").
			expect(t, http.StatusCreated)
	})
}

func TestAutomaticRevocationEndsAfterTheDelay(t *testing.T) {
	clk := newClock()
	a := newAPI(t, owltest.WithClock(clk.Now), owltest.WithAutomaticDelay(10*time.Second))
	state := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
	var v wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"), "").expect(t, http.StatusCreated).data(t, &v)
	if v.ProvisioningType != owltest.Automatic {
		t.Fatalf("provisioning_type %q, want automatic", v.ProvisioningType)
	}

	clk.Advance(10*time.Second - time.Nanosecond)
	a.get("/api/v1/access_revocations/"+v.ID).expect(t, http.StatusOK).data(t, &v)
	if v.Status != owltest.Processing {
		t.Fatalf("status %q before the delay, want %q", v.Status, owltest.Processing)
	}

	clk.Advance(time.Hour)
	a.get("/api/v1/access_revocations/"+v.ID).expect(t, http.StatusOK).data(t, &v)
	if v.Status != owltest.Revoked {
		t.Fatalf("status %q after the delay, want %q", v.Status, owltest.Revoked)
	}
	got, _ := a.srv.AccessState(state.ID)
	if want := start.Add(10 * time.Second); got.EffectiveEnd == nil || !got.EffectiveEnd.Equal(want) {
		t.Errorf("access ended at %v, want the moment the delay passed, %v", got.EffectiveEnd, want)
	}
	a.post("/api/v1/access_revocations/"+v.ID+"/revoke", "", "").expect(t, http.StatusUnprocessableEntity)
	a.post("/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"), "").expect(t, http.StatusUnprocessableEntity)
}

func TestAutomaticRevocationEndsOnTheRealClock(t *testing.T) {
	a := newAPI(t, owltest.WithAutomaticDelay(50*time.Millisecond))
	state := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
	var v wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"), "").expect(t, http.StatusCreated).data(t, &v)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// No request is made while waiting: Await itself must notice the delay has passed.
	err := a.srv.Await(ctx, func(f *owltest.Fake) bool {
		got, _ := f.Revocation(v.ID)
		return got.Status == owltest.Revoked
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdminRevocationLifecycle(t *testing.T) {
	type step struct {
		action string // "revoke", "reject", "end access"
		body   string
		want   int
		status string // of the revocation afterwards
	}
	tests := []struct {
		name       string
		steps      []step
		wantActive bool
	}{
		{"revoke ends the access", []step{{"revoke", "", http.StatusOK, owltest.Revoked}}, false},
		{"reject keeps the access", []step{{"reject", `{"reason":"Still needed for the audit"}`, http.StatusOK, owltest.Rejected}}, true},
		{"reject needs no reason", []step{{"reject", "", http.StatusOK, owltest.Rejected}}, true},
		{"revoke after the access ended elsewhere rejects", []step{{"end access", "", 0, owltest.Processing},
			{"revoke", "", http.StatusOK, owltest.Rejected}}, false},
		{"revoke on a revoked revocation answers 422", []step{{"revoke", "", http.StatusOK, owltest.Revoked},
			{"revoke", "", http.StatusUnprocessableEntity, owltest.Revoked}}, false},
		{"reject on a revoked revocation answers 422", []step{{"revoke", "", http.StatusOK, owltest.Revoked},
			{"reject", `{"reason":"too late"}`, http.StatusUnprocessableEntity, owltest.Revoked}}, false},
		{"revoke on a rejected revocation answers 422", []step{{"reject", "", http.StatusOK, owltest.Rejected},
			{"revoke", "", http.StatusUnprocessableEntity, owltest.Rejected}}, true},
		{"reject on a rejected revocation answers 422", []step{{"reject", "", http.StatusOK, owltest.Rejected},
			{"reject", "", http.StatusUnprocessableEntity, owltest.Rejected}}, true},
		{"a rejection reason over 255 characters answers 422", []step{
			{"reject", `{"reason":"` + strings.Repeat("x", 256) + `"}`, http.StatusUnprocessableEntity, owltest.Processing}}, true},
		{"a rejection body that is not JSON answers 400", []step{{"reject", `reason`, http.StatusBadRequest, owltest.Processing}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, owltest.WithClock(clk.Now))
			state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
			var v wireRevocation
			a.post("/api/v1/access_revocations", revocationBody(state.ID, "Leaving the platform team"), "").
				expect(t, http.StatusCreated).data(t, &v)
			// An admin application never finishes by itself, however long it waits.
			clk.Advance(30 * 24 * time.Hour)
			for i, s := range tt.steps {
				if s.action == "end access" {
					if err := a.srv.EndAccess(state.ID); err != nil {
						t.Fatal(err)
					}
				} else {
					r := a.post("/api/v1/access_revocations/"+v.ID+"/"+s.action, s.body, "")
					if r.status != s.want {
						t.Fatalf("step %d: %s answered %d, want %d; body %s", i, s.action, r.status, s.want, r.body)
					}
					if r.status == http.StatusOK {
						r.data(t, &v)
					}
				}
				var got wireRevocation
				a.get("/api/v1/access_revocations/"+v.ID).expect(t, http.StatusOK).data(t, &got)
				if got.Status != s.status {
					t.Fatalf("step %d: status %q, want %q", i, got.Status, s.status)
				}
			}
			got, _ := a.srv.AccessState(state.ID)
			if got.Active() != tt.wantActive {
				t.Errorf("access active %v, want %v", got.Active(), tt.wantActive)
			}
		})
	}
}

func TestARejectedRevocationCanBeFiledAgain(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	body := revocationBody(state.ID, "Leaving the platform team")
	var v wireRevocation
	a.post("/api/v1/access_revocations", body, "").expect(t, http.StatusCreated).data(t, &v)
	a.post("/api/v1/access_revocations/"+v.ID+"/reject", `{"reason":"Not yet"}`, "").expect(t, http.StatusOK)
	a.post("/api/v1/access_revocations", body, "").expect(t, http.StatusCreated)
}

func TestAdminActions(t *testing.T) {
	f := owltest.New()
	state := activeState(t, f, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	v, err := f.CreateRevocation(state.ID, "Leaving the platform team")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateRevocation(state.ID, "again"); !errors.As(err, new(*owltest.ValidationError)) {
		t.Errorf("a second revocation of the access gave %v, want a ValidationError", err)
	}
	if _, err := f.Revoke("00000000-0000-4000-8000-000000000000"); !errors.Is(err, owltest.ErrNotFound) {
		t.Errorf("Revoke of an unknown ID gave %v, want ErrNotFound", err)
	}
	rejected, err := f.Reject(v.ID, "Still on call")
	if err != nil || rejected.Status != owltest.Rejected || rejected.RejectionReason != "Still on call" {
		t.Errorf("Reject gave %+v, %v", rejected, err)
	}
	if _, err := f.Revoke(v.ID); !errors.Is(err, owltest.ErrClosed) {
		t.Errorf("Revoke of a rejected revocation gave %v, want ErrClosed", err)
	}
	if err := f.EndAccess(state.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.EndAccess(state.ID); !errors.Is(err, owltest.ErrEnded) {
		t.Errorf("EndAccess twice gave %v, want ErrEnded", err)
	}
}
