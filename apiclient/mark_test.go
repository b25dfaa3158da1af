package apiclient_test

import (
	"errors"
	"testing"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
)

// TestMarkingTwiceWithOneKeyIsAConflict is what makes a double click on Mark revoked or Could
// not revoke harmless: the second call with the same key is a 409 that changes nothing, and the
// same key with another reason is refused too.
func TestMarkingTwiceWithOneKeyIsAConflict(t *testing.T) {
	srv := startOwl(t)
	c := newClient(t, srv, owltest.DefaultToken)
	farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
	aws := seedApp(t, srv, owltest.SeedAdminApp)
	state := activeState(t, srv, farid.ID, aws.ID)
	rev, err := c.CreateRevocation(t.Context(), "request-mark", apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.RejectRevocation(t.Context(), "", rev.ID, "needed"); err == nil {
		t.Error("RejectRevocation with no key succeeded; want an error before any request")
	}
	closed, err := c.RevokeRevocation(t.Context(), "mark/"+rev.ID, rev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != apiclient.RevocationRevoked {
		t.Errorf("status = %s, want revoked", closed.Status)
	}
	before := len(srv.Calls())
	_, err = c.RevokeRevocation(t.Context(), "mark/"+rev.ID, rev.ID)
	if !errors.Is(err, apiclient.ErrAlreadySubmitted) {
		t.Errorf("second mark with the same key: err = %v, want ErrAlreadySubmitted (409)", err)
	}
	if n := len(srv.Calls()) - before; n != 1 {
		t.Errorf("the second mark took %d requests, want 1", n)
	}

	rejectRev, err := c.CreateRevocation(t.Context(), "request-mark-2", apiclient.NewRevocation{AccessStateID: activeState(t, srv, farid.ID, seedApp(t, srv, "Figma").ID).ID, Reason: "Offboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RejectRevocation(t.Context(), "reject/"+rejectRev.ID, rejectRev.ID, "Still on call"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RejectRevocation(t.Context(), "reject/"+rejectRev.ID, rejectRev.ID, "Still on call"); !errors.Is(err, apiclient.ErrAlreadySubmitted) {
		t.Errorf("second reject with the same key and reason: err = %v, want ErrAlreadySubmitted (409)", err)
	}
	if _, err := c.RejectRevocation(t.Context(), "reject/"+rejectRev.ID, rejectRev.ID, "Another reason"); !errors.Is(err, apiclient.ErrInvalidRequest) {
		t.Errorf("the same key with another reason: err = %v, want ErrInvalidRequest (422)", err)
	}
}
