package apiclient

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
)

// UserStatus is a person's state in AccessOwl.
type UserStatus string

// User statuses. UserStatusAll is only a list filter: AccessOwl lists active users unless asked
// for all.
const (
	UserStatusActive                        UserStatus = "active"
	UserStatusInactive                      UserStatus = "inactive"
	UserStatusOnboarding                    UserStatus = "onboarding"
	UserStatusOnboardingProvisioningPlanned UserStatus = "onboarding_provisioning_planned"
	UserStatusOffboarding                   UserStatus = "offboarding"
	UserStatusOffboardingPlanned            UserStatus = "offboarding_planned"
	UserStatusOffboarded                    UserStatus = "offboarded"
	UserStatusAll                           UserStatus = "all"
)

// User is a person in AccessOwl. Departments and teams are kept raw: their shape is not
// documented.
type User struct {
	ID            string            `json:"id"`
	Email         string            `json:"email"`
	FirstName     *string           `json:"first_name"`
	LastName      *string           `json:"last_name"`
	FullName      string            `json:"full_name"`
	Status        UserStatus        `json:"status"`
	ManagerUserID *string           `json:"manager_user_id"`
	Departments   []json.RawMessage `json:"departments,omitempty"`
	Teams         []json.RawMessage `json:"teams,omitempty"`
}

// UserListOptions filters the user list. Email matches exactly; an empty Status means
// AccessOwl's default, active users only.
type UserListOptions struct {
	Email  string
	Status UserStatus
	ListOptions
}

func (o UserListOptions) query() url.Values {
	q := url.Values{}
	setIf(q, "email", o.Email)
	setIf(q, "status", string(o.Status))
	return q
}

// ListUsers returns one page of users and the cursor of the next page ("" after the last).
func (c *Client) ListUsers(ctx context.Context, opts UserListOptions) ([]User, string, error) {
	return listPage[User](ctx, c, "users", opts.ListOptions.apply(opts.query()))
}

// AllUsers iterates every matching user, following cursors from opts.Cursor on.
func (c *Client) AllUsers(ctx context.Context, opts UserListOptions) iter.Seq2[User, error] {
	return listAll[User](ctx, c, "users", opts.query(), opts.Cursor)
}

// GetUser returns one user; a missing one is ErrNotFound.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	path, err := escapePath("users", id)
	if err != nil {
		return nil, err
	}
	return call[User](ctx, c, http.MethodGet, path, nil, "")
}
