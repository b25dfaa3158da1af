package owltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// expansions are the values GET /access_states takes in expand.
var expansions = []string{"grantee_user", "application", "resource", "target_permissions"}

func (f *Fake) listUsers(req request) response {
	// status defaults to active, so a person who has left is only found with status=all; that
	// holds for an email lookup too.
	status := req.query.Get("status")
	if status == "" {
		status = UserActive
	}
	if status != "all" && !slices.Contains(userStatuses, status) {
		return validationResponse(http.StatusBadRequest, "status", "is invalid")
	}
	email, emailSet := req.query.Get("email"), req.query.Has("email")
	filter := []string{"status=" + status, "email=" + email, strconv.FormatBool(emailSet)}
	return f.list(req, "users", filter, len(f.users),
		func(i int) (any, bool) {
			u := f.users[i]
			if (status != "all" && u.Status != status) || (emailSet && u.Email != email) {
				return nil, false
			}
			return u, true
		})
}

func (f *Fake) getUser(req request) response {
	u, ok := f.user(req.id)
	if !ok || !isUUID(req.id) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	return f.objectResponse(http.StatusOK, u)
}

func (f *Fake) listApplications(req request) response {
	status := req.query.Get("status")
	if status != "" && !slices.Contains(appStatuses, status) {
		return validationResponse(http.StatusBadRequest, "status", "is invalid")
	}
	if resp, bad := badUUIDParam(req.query, "owner_user_id", "admin_user_id"); bad {
		return resp
	}
	owner, admin := req.query.Get("owner_user_id"), req.query.Get("admin_user_id")
	titleLike := strings.ToLower(req.query.Get("title_like"))
	filter := []string{"status=" + status, "title_like=" + titleLike, "owner=" + strings.ToLower(owner),
		"admin=" + strings.ToLower(admin)}
	return f.list(req, "applications", filter, len(f.apps), func(i int) (any, bool) {
		a := f.apps[i]
		switch {
		case status != "" && a.Status != status,
			!strings.Contains(strings.ToLower(a.Title), titleLike),
			owner != "" && !sameID(a.OwnerUserID, owner),
			admin != "" && !slices.ContainsFunc(a.AdminUserIDs, func(id string) bool { return sameID(id, admin) }):
			return nil, false
		}
		return a, true
	})
}

func (f *Fake) getApplication(req request) response {
	a, ok := f.app(req.id)
	if !ok || !isUUID(req.id) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	return f.objectResponse(http.StatusOK, a)
}

func (f *Fake) listAccessStates(req request) response {
	if resp, bad := badUUIDParam(req.query, "grantee_user_id", "application_id"); bad {
		return resp
	}
	grantee, appID := req.query.Get("grantee_user_id"), req.query.Get("application_id")
	expand := make(map[string]bool)
	if e := req.query.Get("expand"); e != "" {
		for name := range strings.SplitSeq(e, ",") {
			if !slices.Contains(expansions, name) {
				return validationResponse(http.StatusBadRequest, "expand", "is invalid")
			}
			expand[name] = true
		}
	}
	filter := []string{"grantee=" + strings.ToLower(grantee), "app=" + strings.ToLower(appID)}
	return f.list(req, "access_states", filter, len(f.states), func(i int) (any, bool) {
		s := f.states[i]
		if (grantee != "" && !sameID(s.GranteeUserID, grantee)) || (appID != "" && !sameID(s.ApplicationID, appID)) {
			return nil, false
		}
		return f.expandAccessState(s, expand), true
	})
}

// expandAccessState renders an access state with the related objects expand asks for. An
// expanded field the state has none of (an unlinked account's grantee, an application-wide
// grant's resource) is sent as null, so that "expanded and empty" and "not expanded" differ.
func (f *Fake) expandAccessState(s AccessState, expand map[string]bool) any {
	if len(expand) == 0 {
		return s
	}
	out := struct {
		accessStateJSON
		GranteeUser       json.RawMessage `json:"grantee_user,omitempty"`
		Application       json.RawMessage `json:"application,omitempty"`
		Resource          json.RawMessage `json:"resource,omitempty"`
		TargetPermissions json.RawMessage `json:"target_permissions,omitempty"`
	}{accessStateJSON: s.wire()}
	app, _ := f.app(s.ApplicationID)
	if expand["application"] {
		out.Application = encode(app)
	}
	if expand["grantee_user"] {
		out.GranteeUser = jsonNull
		if u, ok := f.user(s.GranteeUserID); ok {
			out.GranteeUser = encode(u)
		}
	}
	if expand["resource"] {
		out.Resource = jsonNull
		if i := slices.IndexFunc(app.Resources, func(r Resource) bool { return r.ID == s.ResourceID }); i >= 0 {
			out.Resource = encode(app.Resources[i])
		}
	}
	if expand["target_permissions"] {
		perms := []Permission{}
		for _, p := range app.Permissions {
			if slices.Contains(s.TargetPermissionIDs, p.ID) {
				perms = append(perms, p)
			}
		}
		out.TargetPermissions = encode(perms)
	}
	return out
}

func (f *Fake) listRevocations(req request) response {
	status := req.query.Get("status")
	if status != "" && !slices.Contains(revocationStatuses, status) {
		return validationResponse(http.StatusBadRequest, "status", "is invalid")
	}
	if resp, bad := badUUIDParam(req.query, "user_id", "application_id"); bad {
		return resp
	}
	userID, appID := req.query.Get("user_id"), req.query.Get("application_id")
	filter := []string{"status=" + status, "user=" + strings.ToLower(userID), "app=" + strings.ToLower(appID)}
	return f.list(req, "access_revocations", filter, len(f.revocations), func(i int) (any, bool) {
		v := f.revocations[i]
		switch {
		case status != "" && v.Status != status,
			userID != "" && !sameID(v.GranteeUserID, userID),
			appID != "" && !sameID(v.ApplicationID, appID):
			return nil, false
		}
		return v, true
	})
}

func (f *Fake) getRevocation(req request) response {
	i := f.revocationIndex(req.id)
	if i < 0 || !isUUID(req.id) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	return f.objectResponse(http.StatusOK, f.revocations[i])
}

// postRevocation files a revocation. The body is read as JSON whatever its Content-Type says; an
// empty body is an empty object, so it is refused field by field with a 422.
func (f *Fake) postRevocation(req request) response {
	fields, resp, ok := decodeObject(req.body)
	if !ok {
		return resp
	}
	var verr ValidationError
	stateID, okID := stringField(fields, "access_state_id")
	reason, okReason := stringField(fields, "reason")
	if !okID {
		verr.add("access_state_id", "is invalid")
	}
	if !okReason {
		verr.add("reason", "is invalid")
	}
	if verr.Fields != nil {
		return jsonResponse(http.StatusUnprocessableEntity, map[string]any{"errors": verr.Fields})
	}
	v, err := f.createRevocation(stateID, reason)
	if refused := (*ValidationError)(nil); errors.As(err, &refused) {
		return jsonResponse(http.StatusUnprocessableEntity, map[string]any{"errors": refused.Fields})
	}
	return f.objectResponse(http.StatusCreated, v)
}

// postRevoke confirms a revocation; the body, which AccessOwl does not define, is ignored.
func (f *Fake) postRevoke(req request) response {
	if !isUUID(req.id) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	v, err := f.revoke(req.id)
	return f.closeResponse(v, err)
}

// postReject refuses a revocation. Its reason is optional (the documentation shows one but does
// not say it is required) and, like a revocation's, at most 255 characters.
func (f *Fake) postReject(req request) response {
	if !isUUID(req.id) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	fields, resp, ok := decodeObject(req.body)
	if !ok {
		return resp
	}
	reason, ok := stringField(fields, "reason")
	switch {
	case !ok:
		return validationResponse(http.StatusUnprocessableEntity, "reason", "is invalid")
	case utf8.RuneCountInString(reason) > maxReason:
		return validationResponse(http.StatusUnprocessableEntity, "reason",
			fmt.Sprintf("should be at most %d character(s)", maxReason))
	}
	v, err := f.reject(req.id, reason)
	return f.closeResponse(v, err)
}

func (f *Fake) closeResponse(v Revocation, err error) response {
	switch {
	case errors.Is(err, ErrNotFound):
		return errorResponse(http.StatusNotFound, "Not Found")
	case errors.Is(err, ErrClosed):
		return validationResponse(http.StatusUnprocessableEntity, "status", "is already "+v.Status)
	}
	return f.objectResponse(http.StatusOK, v)
}

// decodeObject reads a JSON object body; empty is {}. Anything else is a 400, as Phoenix answers
// a body it cannot parse.
func decodeObject(body []byte) (map[string]json.RawMessage, response, bool) {
	fields := make(map[string]json.RawMessage)
	if len(bytes.TrimSpace(body)) == 0 {
		return fields, response{}, true
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, errorResponse(http.StatusBadRequest, "Bad Request"), false
	}
	return fields, response{}, true
}

// stringField returns a field that must be a string if present; absent or null is "".
func stringField(fields map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// badUUIDParam answers 400 for the first of the named query parameters that is given but is not
// a UUID.
func badUUIDParam(query url.Values, names ...string) (response, bool) {
	for _, name := range names {
		if v := query.Get(name); v != "" && !isUUID(v) {
			return validationResponse(http.StatusBadRequest, name, "is invalid"), true
		}
	}
	return response{}, false
}
