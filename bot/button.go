package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

// maxButtonValue is Slack's limit on a button's value.
const maxButtonValue = 2000

// buttonVersion is the layout of a button's value. A bot must decode the buttons on messages it
// posted before an upgrade, so a new layout gets a new number and the old one stays readable.
const buttonVersion = 1

// buttonValue is what the Approve and Reject buttons carry: everything needed to authorise a
// click, submit the revocation and find it after a 409, so any replica can act on a click even
// without the store. Names are short because Slack caps the value at 2,000 bytes; a reason of
// 255 characters fits even when every character needs JSON escaping.
type buttonValue struct {
	Version     int    `json:"v"`
	RequestID   string `json:"id"`
	AccessState string `json:"as"`
	Reason      string `json:"rs"`
	Grantee     string `json:"g"`
	Application string `json:"a"`
	Resource    string `json:"r,omitempty"`
	Requester   string `json:"q"`
	Channel     string `json:"c"`
	Created     int64  `json:"t"`
}

// EncodeButton returns the value the Approve and Reject buttons of r carry. It describes a
// request for one access.
func EncodeButton(r store.Request) (string, error) {
	if len(r.Items) != 1 {
		return "", fmt.Errorf("encode button of request %s: %d accesses do not fit in a button", r.ID, len(r.Items))
	}
	it := r.Items[0]
	b, err := json.Marshal(buttonValue{
		Version:     buttonVersion,
		RequestID:   r.ID.String(),
		AccessState: it.AccessStateID,
		Reason:      r.Reason,
		Grantee:     r.Grantee.AccessOwlID,
		Application: it.ApplicationID,
		Resource:    it.ResourceID,
		Requester:   r.RequesterID,
		Channel:     r.Channel,
		Created:     r.CreatedAt.Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("encode button of request %s: %w", r.ID, err)
	}
	if len(b) > maxButtonValue {
		return "", fmt.Errorf("encode button of request %s: %d bytes, Slack allows %d", r.ID, len(b), maxButtonValue)
	}
	return string(b), nil
}

// DecodeButton reads a button's value back into the request it stands for: the fields needed to
// decide and submit it. It checks every field, because a request decoded here may be submitted.
func DecodeButton(value string) (store.Request, error) {
	if len(value) > maxButtonValue {
		return store.Request{}, fmt.Errorf("button value of %d bytes is over Slack's %d", len(value), maxButtonValue)
	}
	var v buttonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return store.Request{}, fmt.Errorf("decode button value: %w", err)
	}
	if v.Version != buttonVersion {
		return store.Request{}, fmt.Errorf("button value version %d, want %d", v.Version, buttonVersion)
	}
	id, err := uuid.Parse(v.RequestID)
	if err != nil {
		return store.Request{}, fmt.Errorf("button request ID: %w", err)
	}
	var errs []error
	for _, field := range []struct{ name, value string }{
		{"access state", v.AccessState}, {"grantee", v.Grantee}, {"application", v.Application},
		{"requester", v.Requester}, {"channel", v.Channel},
	} {
		if field.value == "" {
			errs = append(errs, fmt.Errorf("button has no %s", field.name))
		}
	}
	if n := utf8.RuneCountInString(v.Reason); n == 0 || n > apiclient.MaxReasonLength {
		errs = append(errs, fmt.Errorf("button reason of %d characters", n))
	}
	if err := errors.Join(errs...); err != nil {
		return store.Request{}, err
	}
	return store.Request{
		ID:          id,
		RequesterID: v.Requester,
		Grantee:     store.Person{AccessOwlID: v.Grantee},
		Items:       []store.Item{{AccessStateID: v.AccessState, ApplicationID: v.Application, ResourceID: v.Resource}},
		Reason:      v.Reason,
		Channel:     v.Channel,
		CreatedAt:   time.Unix(v.Created, 0).UTC(),
		State:       store.Pending,
	}, nil
}
