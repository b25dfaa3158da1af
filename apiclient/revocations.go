package apiclient

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// RevocationStatus is where a revocation stands.
type RevocationStatus string

// Revocation statuses. A revocation starts processing_access and ends revoked or rejected.
const (
	RevocationProcessing RevocationStatus = "processing_access"
	RevocationRevoked    RevocationStatus = "revoked"
	RevocationRejected   RevocationStatus = "rejected"
)

// Done reports whether the status is final.
func (s RevocationStatus) Done() bool { return s == RevocationRevoked || s == RevocationRejected }

// Revocation is a request to AccessOwl to take an access away. It does not name the access
// state it was made from; grantee, application and resource identify it.
type Revocation struct {
	ID               string           `json:"id"`
	ApplicationID    string           `json:"application_id"`
	Reason           string           `json:"reason"`
	Status           RevocationStatus `json:"status"`
	GranteeUserID    *string          `json:"grantee_user_id"`
	RequestorUserID  *string          `json:"requestor_user_id"`
	ResourceID       *string          `json:"resource_id"` // nil means application-wide
	PermissionIDs    []string         `json:"permission_ids"`
	ProvisioningType ProvisioningType `json:"provisioning_type"`
	InsertedAt       time.Time        `json:"inserted_at"`
}

// MaxReasonLength is AccessOwl's limit on a revocation's reason. Callers count it in runes: the
// server counts characters, and a rune count is never smaller than a character count, so a
// reason within it here is never too long there.
const MaxReasonLength = 255

// NewRevocation is the body of a revocation request. AccessOwl always revokes the whole access
// state.
type NewRevocation struct {
	AccessStateID string `json:"access_state_id"`
	Reason        string `json:"reason"` // 1–255 characters
}

// CreateRevocation submits a revocation with idempotencyKey, which must be the same on every
// submission of the same request (by any replica, after any restart) with the same body.
//
// A 409 returns an *AlreadySubmittedError (errors.Is ErrAlreadySubmitted): the key was seen
// before. Its EarlierAttemptUnseen says whether that was this call's own earlier attempt, in
// which case FindRevocation finds what it created. (So does a 2xx without a body, which is
// ErrEmptyResponse.)
func (c *Client) CreateRevocation(ctx context.Context, idempotencyKey string, r NewRevocation) (*Revocation, error) {
	if idempotencyKey == "" {
		return nil, errors.New("accessowl: create revocation: an idempotency key is required")
	}
	rev, err := call[Revocation](ctx, c, http.MethodPost, "access_revocations", r, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("create revocation for access state %s: %w", r.AccessStateID, err)
	}
	return rev, nil
}

// GetRevocation returns one revocation; a missing one is ErrNotFound.
func (c *Client) GetRevocation(ctx context.Context, id string) (*Revocation, error) {
	path, err := escapePath("access_revocations", id)
	if err != nil {
		return nil, err
	}
	return call[Revocation](ctx, c, http.MethodGet, path, nil, "")
}

// RevocationListOptions filters the revocation list; UserID is the grantee.
type RevocationListOptions struct {
	Status        RevocationStatus
	UserID        string
	ApplicationID string
	ListOptions
}

func (o RevocationListOptions) query() url.Values {
	q := url.Values{}
	setIf(q, "status", string(o.Status))
	setIf(q, "user_id", o.UserID)
	setIf(q, "application_id", o.ApplicationID)
	return q
}

// ListRevocations returns one page of revocations and the next cursor ("" after the last).
func (c *Client) ListRevocations(ctx context.Context, opts RevocationListOptions) ([]Revocation, string, error) {
	return listPage[Revocation](ctx, c, "access_revocations", opts.ListOptions.apply(opts.query()))
}

// AllRevocations iterates every matching revocation, following cursors from opts.Cursor on.
func (c *Client) AllRevocations(ctx context.Context, opts RevocationListOptions) iter.Seq2[Revocation, error] {
	return listAll[Revocation](ctx, c, "access_revocations", opts.query(), opts.Cursor)
}

// RevokeRevocation marks a processing_access revocation done, for an application whose admin
// removed the access by hand; AccessOwl answers revoked, or rejected if no access was left. A
// closed revocation is a 422 (ErrInvalidRequest). idempotencyKey must be the same on every
// attempt of the same mark (a double click, another replica), so AccessOwl answers the second
// 409 (ErrAlreadySubmitted) and acts once.
func (c *Client) RevokeRevocation(ctx context.Context, idempotencyKey, id string) (*Revocation, error) {
	if idempotencyKey == "" {
		return nil, errors.New("accessowl: revoke revocation: an idempotency key is required")
	}
	path, err := escapePath("access_revocations", id, "revoke")
	if err != nil {
		return nil, err
	}
	rev, err := call[Revocation](ctx, c, http.MethodPost, path, nil, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("mark revocation %s revoked: %w", id, err)
	}
	return rev, nil
}

// RejectRevocation refuses a processing_access revocation with a reason; the access stays. A
// closed revocation is a 422 (ErrInvalidRequest). The key works as for RevokeRevocation; the
// same key with another reason is a 422 too, since AccessOwl compares the bodies.
func (c *Client) RejectRevocation(ctx context.Context, idempotencyKey, id, reason string) (*Revocation, error) {
	if idempotencyKey == "" {
		return nil, errors.New("accessowl: reject revocation: an idempotency key is required")
	}
	path, err := escapePath("access_revocations", id, "reject")
	if err != nil {
		return nil, err
	}
	body := struct {
		Reason string `json:"reason"`
	}{reason}
	rev, err := call[Revocation](ctx, c, http.MethodPost, path, body, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("reject revocation %s: %w", id, err)
	}
	return rev, nil
}
