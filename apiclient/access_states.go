package apiclient

import (
	"context"
	"iter"
	"net/url"
	"strings"
	"time"
)

// Expansion names a related object AccessOwl can embed in an access state.
type Expansion string

// Expansions of an access state.
const (
	ExpandGranteeUser       Expansion = "grantee_user"
	ExpandApplication       Expansion = "application"
	ExpandResource          Expansion = "resource"
	ExpandTargetPermissions Expansion = "target_permissions"
)

// ExpandAll embeds everything a person needs to recognise an access state.
var ExpandAll = []Expansion{ExpandGranteeUser, ExpandApplication, ExpandResource, ExpandTargetPermissions}

// AccessState is someone's access to an application (or one resource of it), current or past.
// The expanded fields are set only when asked for with Expand.
type AccessState struct {
	ID                   string     `json:"id"`
	ApplicationID        string     `json:"application_id"`
	GranteeUserID        *string    `json:"grantee_user_id"` // nil for an account not linked to a person
	GranteeUserAccountID *string    `json:"grantee_user_account_id"`
	ResourceID           *string    `json:"resource_id"` // nil means application-wide
	TargetPermissionIDs  []string   `json:"target_permission_ids"`
	EffectiveStart       time.Time  `json:"effective_start"`
	EffectiveEnd         *time.Time `json:"effective_end"` // nil while the access is active

	Application       *Application `json:"application,omitempty"`
	GranteeUser       *User        `json:"grantee_user,omitempty"`
	Resource          *Resource    `json:"resource,omitempty"`
	TargetPermissions []Permission `json:"target_permissions,omitempty"`
}

// Active reports whether the access is current: AccessOwl also lists past access, which has an
// effective end.
func (s AccessState) Active() bool { return s.EffectiveEnd == nil }

// Resource is a part of an application access can be limited to, such as a workspace.
type Resource struct {
	ID          string  `json:"id"`
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

// Permission is a role or permission within an application.
type Permission struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Elevated bool   `json:"elevated"`
}

// AccessStateListOptions filters the access state list.
type AccessStateListOptions struct {
	GranteeUserID string
	ApplicationID string
	Expand        []Expansion
	ListOptions
}

func (o AccessStateListOptions) query() url.Values {
	q := url.Values{}
	setIf(q, "grantee_user_id", o.GranteeUserID)
	setIf(q, "application_id", o.ApplicationID)
	names := make([]string, len(o.Expand))
	for i, e := range o.Expand {
		names[i] = string(e)
	}
	setIf(q, "expand", strings.Join(names, ","))
	return q
}

// ListAccessStates returns one page of access states, current and past, and the next cursor
// ("" after the last). AccessOwl has no GET for a single access state.
func (c *Client) ListAccessStates(ctx context.Context, opts AccessStateListOptions) ([]AccessState, string, error) {
	return listPage[AccessState](ctx, c, "access_states", opts.ListOptions.apply(opts.query()))
}

// AllAccessStates iterates every matching access state, following cursors from opts.Cursor on.
func (c *Client) AllAccessStates(ctx context.Context, opts AccessStateListOptions) iter.Seq2[AccessState, error] {
	return listAll[AccessState](ctx, c, "access_states", opts.query(), opts.Cursor)
}
