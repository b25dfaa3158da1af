package owltest

import (
	"encoding/json"
	"time"
)

// User statuses AccessOwl documents.
const (
	UserActive                        = "active"
	UserInactive                      = "inactive"
	UserOnboarding                    = "onboarding"
	UserOnboardingProvisioningPlanned = "onboarding_provisioning_planned"
	UserOffboarding                   = "offboarding"
	UserOffboardingPlanned            = "offboarding_planned"
	UserOffboarded                    = "offboarded"
)

// Application statuses AccessOwl documents.
const (
	AppIgnored     = "ignored"
	AppDiscovered  = "discovered"
	AppApproved    = "approved"
	AppRequestable = "requestable"
)

// Provisioning types: who removes the access once a revocation is filed.
const (
	// Automatic: AccessOwl removes the access itself.
	Automatic = "automatic"
	// ApplicationAdmin: a person removes it and then marks the revocation done.
	ApplicationAdmin = "application_admin"
)

// Revocation statuses AccessOwl documents.
const (
	Processing = "processing_access"
	Revoked    = "revoked"
	Rejected   = "rejected"
)

var (
	userStatuses = []string{UserActive, UserInactive, UserOnboarding, UserOnboardingProvisioningPlanned,
		UserOffboarding, UserOffboardingPlanned, UserOffboarded}
	appStatuses        = []string{AppIgnored, AppDiscovered, AppApproved, AppRequestable}
	provisioningTypes  = []string{Automatic, ApplicationAdmin}
	revocationStatuses = []string{Processing, Revoked, Rejected}
)

// User is a person in the organisation. Empty strings in nullable fields (FirstName, LastName,
// ManagerUserID) are sent as JSON null, as the live API does for people without them.
type User struct {
	ID            string
	Email         string
	FirstName     string
	LastName      string
	FullName      string
	Status        string
	ManagerUserID string
	Departments   []string
	Teams         []string
}

// MarshalJSON writes the documented user fields.
func (u User) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID            string   `json:"id"`
		Email         string   `json:"email"`
		FirstName     *string  `json:"first_name"`
		LastName      *string  `json:"last_name"`
		FullName      string   `json:"full_name"`
		Status        string   `json:"status"`
		ManagerUserID *string  `json:"manager_user_id"`
		Departments   []string `json:"departments"`
		Teams         []string `json:"teams"`
	}{u.ID, u.Email, nullable(u.FirstName), nullable(u.LastName), u.FullName, u.Status,
		nullable(u.ManagerUserID), nonNil(u.Departments), nonNil(u.Teams)})
}

// Application is a SaaS application AccessOwl manages. Resources and Permissions belong to it
// but are not part of its JSON: the API only shows them through an access state's expand.
type Application struct {
	ID               string
	Title            string
	Status           string
	ProvisioningType string
	OwnerUserID      string
	AdminUserIDs     []string
	RiskLevel        string
	URL              string
	Resources        []Resource
	Permissions      []Permission
}

// MarshalJSON writes the documented application fields.
func (a Application) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID               string   `json:"id"`
		Title            string   `json:"title"`
		Status           string   `json:"status"`
		ProvisioningType string   `json:"provisioning_type"`
		OwnerUserID      *string  `json:"owner_user_id"`
		AdminUserIDs     []string `json:"admin_user_ids"`
		RiskLevel        *string  `json:"risk_level"`
		URL              *string  `json:"url"`
	}{a.ID, a.Title, a.Status, a.ProvisioningType, nullable(a.OwnerUserID), nonNil(a.AdminUserIDs),
		nullable(a.RiskLevel), nullable(a.URL)})
}

// Resource is a part of an application that access can be limited to (a repository, an AWS
// account). Its title may be null live: an empty Title is sent as null.
type Resource struct {
	ID          string
	Title       string
	Description string
}

// MarshalJSON writes the documented resource fields.
func (r Resource) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID          string  `json:"id"`
		Title       *string `json:"title"`
		Description *string `json:"description"`
	}{r.ID, nullable(r.Title), nullable(r.Description)})
}

// Permission is a role within an application; Elevated marks administrative ones.
type Permission struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Elevated bool   `json:"elevated"`
}

// AccessState is one grant of access: a person (or an account not linked to anyone, when
// GranteeUserID is empty) holding permissions in an application, or in one of its resources.
// It is active while EffectiveEnd is nil.
type AccessState struct {
	ID                   string
	ApplicationID        string
	GranteeUserID        string
	GranteeUserAccountID string
	ResourceID           string // empty: the whole application
	TargetPermissionIDs  []string
	EffectiveStart       time.Time
	EffectiveEnd         *time.Time
}

// Active reports whether the access has not ended.
func (s AccessState) Active() bool { return s.EffectiveEnd == nil }

// MarshalJSON writes the documented access state fields, without expansions.
func (s AccessState) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.wire())
}

type accessStateJSON struct {
	ID                   string     `json:"id"`
	ApplicationID        string     `json:"application_id"`
	GranteeUserID        *string    `json:"grantee_user_id"`
	GranteeUserAccountID *string    `json:"grantee_user_account_id"`
	ResourceID           *string    `json:"resource_id"`
	TargetPermissionIDs  []string   `json:"target_permission_ids"`
	EffectiveStart       time.Time  `json:"effective_start"`
	EffectiveEnd         *time.Time `json:"effective_end"`
}

func (s AccessState) wire() accessStateJSON {
	return accessStateJSON{s.ID, s.ApplicationID, nullable(s.GranteeUserID),
		nullable(s.GranteeUserAccountID), nullable(s.ResourceID), nonNil(s.TargetPermissionIDs),
		s.EffectiveStart, s.EffectiveEnd}
}

// Revocation is an access revocation. Its JSON has exactly the documented fields: notably no
// access state ID, so a client that lost an answer has to find its revocation by grantee,
// application, resource, reason and time. AccessStateID and RejectionReason are kept for tests
// and the admin panel only.
type Revocation struct {
	ID               string
	ApplicationID    string
	Reason           string
	Status           string
	GranteeUserID    string
	RequestorUserID  string // empty (null on the wire) when filed with an API token
	ResourceID       string
	PermissionIDs    []string
	ProvisioningType string
	InsertedAt       time.Time

	AccessStateID   string
	RejectionReason string
}

// MarshalJSON writes the documented revocation fields.
func (v Revocation) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID               string    `json:"id"`
		ApplicationID    string    `json:"application_id"`
		Reason           string    `json:"reason"`
		Status           string    `json:"status"`
		GranteeUserID    *string   `json:"grantee_user_id"`
		RequestorUserID  *string   `json:"requestor_user_id"`
		ResourceID       *string   `json:"resource_id"`
		PermissionIDs    []string  `json:"permission_ids"`
		ProvisioningType string    `json:"provisioning_type"`
		InsertedAt       time.Time `json:"inserted_at"`
	}{v.ID, v.ApplicationID, v.Reason, v.Status, nullable(v.GranteeUserID),
		nullable(v.RequestorUserID), nullable(v.ResourceID), nonNil(v.PermissionIDs),
		v.ProvisioningType, v.InsertedAt})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil keeps empty lists as [] on the wire rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
