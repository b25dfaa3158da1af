package fakeslack

import (
	"strings"
)

func (w *Workspace) authTest(*apiCall) (map[string]any, *apiError) {
	return map[string]any{
		"url":                   "https://" + w.cfg.TeamDomain + ".slack.com/",
		"team":                  w.cfg.TeamName,
		"user":                  w.cfg.BotName,
		"team_id":               w.cfg.TeamID,
		"user_id":               w.cfg.BotUserID,
		"bot_id":                w.cfg.BotID,
		"is_enterprise_install": false,
	}, nil
}

func (w *Workspace) userJSON(u *User) map[string]any {
	return map[string]any{
		"id": u.ID, "team_id": w.cfg.TeamID, "name": u.Name, "real_name": u.RealName,
		"deleted": u.Deleted, "is_bot": u.IsBot, "is_admin": false, "tz": "Europe/Berlin",
		"profile": map[string]any{
			"email": u.Email, "real_name": u.RealName, "display_name": u.Name,
			"real_name_normalized": u.RealName, "display_name_normalized": u.Name, "bot_id": u.BotID,
		},
	}
}

func (w *Workspace) usersInfo(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u := w.user(c.args["user"])
	if u == nil {
		return nil, fail("user_not_found")
	}
	return map[string]any{"user": w.userJSON(u)}, nil
}

func (w *Workspace) usersProfileGet(c *apiCall) (map[string]any, *apiError) {
	res, err := w.usersInfo(c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profile": res["user"].(map[string]any)["profile"]}, nil
}

func (w *Workspace) usersLookupByEmail(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	email := strings.ToLower(c.args["email"])
	if email == "" {
		return nil, fail("invalid_arguments")
	}
	for _, u := range w.users {
		if strings.ToLower(u.Email) == email {
			return map[string]any{"user": w.userJSON(u)}, nil
		}
	}
	return nil, fail("users_not_found")
}

func (w *Workspace) usergroupsUsersList(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.groups {
		if g.ID == c.args["usergroup"] {
			users := g.Members
			if users == nil {
				users = []string{}
			}
			return map[string]any{"users": users}, nil
		}
	}
	return nil, fail("no_such_subteam")
}
