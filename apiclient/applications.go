package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// ApplicationStatus is where an application stands in AccessOwl's catalogue.
type ApplicationStatus string

// Application statuses.
const (
	ApplicationStatusIgnored     ApplicationStatus = "ignored"
	ApplicationStatusDiscovered  ApplicationStatus = "discovered"
	ApplicationStatusApproved    ApplicationStatus = "approved"
	ApplicationStatusRequestable ApplicationStatus = "requestable"
)

// ProvisioningType says who removes access once a revocation is submitted.
type ProvisioningType string

// Provisioning types.
const (
	// ProvisioningAutomatic: AccessOwl removes the access itself.
	ProvisioningAutomatic ProvisioningType = "automatic"
	// ProvisioningApplicationAdmin: a person removes it and then marks the revocation done,
	// which can take days.
	ProvisioningApplicationAdmin ProvisioningType = "application_admin"
)

// Application is a SaaS application AccessOwl manages access to.
type Application struct {
	ID               string            `json:"id"`
	Title            string            `json:"title"`
	Status           ApplicationStatus `json:"status"`
	ProvisioningType ProvisioningType  `json:"provisioning_type"`
	OwnerUserID      *string           `json:"owner_user_id"`
	AdminUserIDs     []string          `json:"admin_user_ids"`
	RiskLevel        *string           `json:"risk_level"`
	URL              *string           `json:"url"`
}

// ApplicationListOptions filters the application list; TitleLike matches part of the title.
type ApplicationListOptions struct {
	TitleLike   string
	Status      ApplicationStatus
	OwnerUserID string
	AdminUserID string
	ListOptions
}

func (o ApplicationListOptions) query() url.Values {
	q := url.Values{}
	setIf(q, "title_like", o.TitleLike)
	setIf(q, "status", string(o.Status))
	setIf(q, "owner_user_id", o.OwnerUserID)
	setIf(q, "admin_user_id", o.AdminUserID)
	return q
}

// ListApplications returns one page of applications and the next cursor ("" after the last).
func (c *Client) ListApplications(ctx context.Context, opts ApplicationListOptions) ([]Application, string, error) {
	return listPage[Application](ctx, c, "applications", opts.ListOptions.apply(opts.query()))
}

// AllApplications iterates every matching application, following cursors from opts.Cursor on.
func (c *Client) AllApplications(ctx context.Context, opts ApplicationListOptions) iter.Seq2[Application, error] {
	return listAll[Application](ctx, c, "applications", opts.query(), opts.Cursor)
}

// GetApplication returns one application; a missing one is ErrNotFound.
func (c *Client) GetApplication(ctx context.Context, id string) (*Application, error) {
	path, err := escapePath("applications", id)
	if err != nil {
		return nil, err
	}
	return call[Application](ctx, c, http.MethodGet, path, nil, "")
}
