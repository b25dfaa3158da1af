package bot

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
)

// maxButtonValue is Slack's limit on a button's value.
const maxButtonValue = 2000

// The layouts of a button's value. A bot must read the buttons on messages it posted before an
// upgrade, so a new layout gets a new number and the old ones stay readable.
const (
	// buttonV1 carried the request itself, so that a replica without the store could act.
	buttonV1 = 1
	// buttonV2 names the request only: the store is the truth, and a click is judged against
	// what it holds, never against what a button says.
	buttonV2 = 2
)

// buttonValue is what the Approve and Reject buttons carry. Names are short because Slack caps
// the value at 2,000 bytes.
type buttonValue struct {
	Version   int    `json:"v"`
	RequestID string `json:"id"`

	// Layout 1 also carried these.
	AccessState string `json:"as,omitempty"`
	Reason      string `json:"rs,omitempty"`
	Grantee     string `json:"g,omitempty"`
	Application string `json:"a,omitempty"`
	Resource    string `json:"r,omitempty"`
	Requester   string `json:"q,omitempty"`
	Channel     string `json:"c,omitempty"`
	Created     int64  `json:"t,omitempty"`
}

// Button is what a clicked Approve or Reject button names.
type Button struct {
	RequestID uuid.UUID
	// Claims is what a button of the first layout also said about its request — requester,
	// grantee, access, reason — to be compared with the store; nil for the current layout.
	Claims *store.Request
}

// EncodeButton returns the value the Approve and Reject buttons of r carry: its ID.
func EncodeButton(r store.Request) (string, error) {
	b, err := json.Marshal(buttonValue{Version: buttonV2, RequestID: r.ID.String()})
	if err != nil {
		return "", fmt.Errorf("encode button of request %s: %w", r.ID, err)
	}
	return string(b), nil
}

// DecodeButton reads a button's value: the request it names and, for a button of the first
// layout, what it claimed about that request.
func DecodeButton(value string) (Button, error) {
	if len(value) > maxButtonValue {
		return Button{}, fmt.Errorf("button value of %d bytes is over Slack's %d", len(value), maxButtonValue)
	}
	var v buttonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return Button{}, fmt.Errorf("decode button value: %w", err)
	}
	if v.Version != buttonV1 && v.Version != buttonV2 {
		return Button{}, fmt.Errorf("button value version %d, want %d or %d", v.Version, buttonV1, buttonV2)
	}
	id, err := uuid.Parse(v.RequestID)
	if err != nil {
		return Button{}, fmt.Errorf("button request ID: %w", err)
	}
	b := Button{RequestID: id}
	if v.Version == buttonV1 {
		b.Claims = &store.Request{
			ID:          id,
			RequesterID: v.Requester,
			Grantee:     store.Person{AccessOwlID: v.Grantee},
			Items:       []store.Item{{AccessStateID: v.AccessState, ApplicationID: v.Application, ResourceID: v.Resource}},
			Reason:      v.Reason,
			Channel:     v.Channel,
			CreatedAt:   time.Unix(v.Created, 0).UTC(),
		}
	}
	return b, nil
}

// Disagrees reports how a first-layout button's claims differ from the stored request, or ""
// when they agree (or the button claims nothing).
func (b Button) Disagrees(stored store.Request) string {
	c := b.Claims
	if c == nil {
		return ""
	}
	switch {
	case c.RequesterID != stored.RequesterID:
		return "requester"
	case c.Grantee.AccessOwlID != stored.Grantee.AccessOwlID:
		return "grantee"
	case c.Reason != stored.Reason:
		return "reason"
	case len(stored.Items) != 1 || c.Items[0].AccessStateID != stored.Items[0].AccessStateID:
		return "access"
	}
	return ""
}
