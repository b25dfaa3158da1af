package fakeslack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/sandbox/fakeslack"
)

func TestAuthAndRouting(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	for _, tc := range []struct {
		name     string
		call     func() (*http.Response, map[string]any)
		wantCode string
	}{
		{name: "the bot token in the form is accepted", call: func() (*http.Response, map[string]any) {
			return callForm(t, s, "auth.test", s.BotToken(), nil)
		}},
		{name: "the bot token as Bearer is accepted", call: func() (*http.Response, map[string]any) {
			return callJSON(t, s, "auth.test", s.BotToken(), map[string]any{})
		}},
		{name: "a wrong token is invalid_auth", wantCode: "invalid_auth", call: func() (*http.Response, map[string]any) {
			return callForm(t, s, "auth.test", "xoxb-wrong", nil)
		}},
		{name: "no token is not_authed", wantCode: "not_authed", call: func() (*http.Response, map[string]any) {
			return callForm(t, s, "auth.test", "", nil)
		}},
		{name: "the app token cannot call the Web API", wantCode: "not_allowed_token_type", call: func() (*http.Response, map[string]any) {
			return callForm(t, s, "chat.postMessage", s.AppToken(), nil)
		}},
		{name: "an unknown method is unknown_method", wantCode: "unknown_method", call: func() (*http.Response, map[string]any) {
			return callForm(t, s, "chat.scheduleMessage", s.BotToken(), nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.call()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP %d, want 200 as Slack answers errors", resp.StatusCode)
			}
			if got := errorCode(t, body); got != tc.wantCode {
				t.Errorf("error = %q, want %q", got, tc.wantCode)
			}
		})
	}
	_, body := callForm(t, s, "auth.test", s.BotToken(), nil)
	if body["user_id"] != s.BotUserID() || body["team_id"] != s.TeamID() || body["bot_id"] == "" {
		t.Errorf("auth.test = %v, want the bot's IDs", body)
	}
}

func TestWorkspaceMountsWithoutStripPrefix(t *testing.T) {
	w := fakeslack.New(fakeslack.Config{})
	t.Cleanup(w.Close)
	mux := http.NewServeMux()
	mux.Handle("/deep/slack/", w)
	req := httptest.NewRequest(http.MethodPost, "http://example.test/deep/slack/api/apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+w.AppToken())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if u, _ := body["url"].(string); !strings.HasPrefix(u, "ws://example.test/deep/slack/socket?ticket=") {
		t.Errorf("url = %q, want it derived from Host and the mount prefix", u)
	}
}

func post(t *testing.T, s *fakeslack.Server, form url.Values) map[string]any {
	t.Helper()
	_, body := callForm(t, s, "chat.postMessage", s.BotToken(), form)
	return body
}

func TestPostMessage(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	ctx := deadline(t)
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"hello"}}]`
	metadata := `{"event_type":"revocation","event_payload":{"id":"r1"}}`
	parent := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"hello"}, "blocks": {blocks}, "metadata": {metadata}}))
	reply := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"reply"}, "thread_ts": {parent["ts"].(string)}}))
	broadcast := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"also"}, "thread_ts": {parent["ts"].(string)}, "reply_broadcast": {"true"}}))

	t.Run("time stamps are unique and increase", func(t *testing.T) {
		a, _ := strconv.ParseFloat(parent["ts"].(string), 64)
		b, _ := strconv.ParseFloat(reply["ts"].(string), 64)
		c, _ := strconv.ParseFloat(broadcast["ts"].(string), 64)
		if !(a < b && b < c) {
			t.Errorf("ts %v, %v, %v do not increase", a, b, c)
		}
	})
	t.Run("blocks and metadata sent as JSON strings are stored as JSON", func(t *testing.T) {
		m, _ := s.Message(org.Revocations, parent["ts"].(string))
		var got []map[string]any
		if err := json.Unmarshal(m.Blocks, &got); err != nil || got[0]["type"] != "section" || got[0]["block_id"] == "" {
			t.Errorf("blocks = %s, want the section with a block_id Slack fills in", m.Blocks)
		}
		if string(m.Metadata) != metadata {
			t.Errorf("metadata = %s", m.Metadata)
		}
	})
	t.Run("replies live in the thread, a broadcast also in the channel", func(t *testing.T) {
		var texts []string
		for _, m := range s.Messages(org.Revocations) {
			texts = append(texts, m.Text)
		}
		if diff := cmp.Diff([]string{"hello", "also"}, texts); diff != "" {
			t.Errorf("channel (-want +got):\n%s", diff)
		}
		texts = nil
		for _, m := range s.Thread(org.Revocations, parent["ts"].(string)) {
			texts = append(texts, m.Text)
		}
		if diff := cmp.Diff([]string{"hello", "reply", "also"}, texts); diff != "" {
			t.Errorf("thread (-want +got):\n%s", diff)
		}
		if m, _ := s.Message(org.Revocations, parent["ts"].(string)); m.ReplyCount != 2 {
			t.Errorf("reply_count = %d, want 2", m.ReplyCount)
		}
	})
	t.Run("conversations.replies returns the thread", func(t *testing.T) {
		_, body := callForm(t, s, "conversations.replies", s.BotToken(), url.Values{"channel": {org.Revocations}, "ts": {parent["ts"].(string)}})
		if n := len(mustOK(t, body)["messages"].([]any)); n != 3 {
			t.Errorf("%d messages, want 3", n)
		}
	})
	t.Run("conversations.history returns the channel's messages, newest first, in pages", func(t *testing.T) {
		newest := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"newer"}}))
		_, body := callForm(t, s, "conversations.history", s.BotToken(), url.Values{"channel": {org.Revocations}, "limit": {"1"}})
		first := mustOK(t, body)
		msgs := first["messages"].([]any)
		if len(msgs) != 1 || first["has_more"] != true || msgs[0].(map[string]any)["ts"] != newest["ts"] {
			t.Fatalf("first page %v; want the newest message and more to come", first)
		}
		seen := map[string]bool{}
		for page := first; ; {
			for _, m := range page["messages"].([]any) {
				msg := m.(map[string]any)
				if _, reply := msg["thread_ts"]; reply && msg["thread_ts"] != msg["ts"] {
					t.Errorf("a thread reply in the history: %v", msg)
				}
				seen[msg["ts"].(string)] = true
			}
			next := page["response_metadata"].(map[string]any)["next_cursor"].(string)
			if next == "" {
				break
			}
			_, body := callForm(t, s, "conversations.history", s.BotToken(), url.Values{"channel": {org.Revocations}, "limit": {"1"}, "cursor": {next}})
			page = mustOK(t, body)
		}
		if !seen[parent["ts"].(string)] {
			t.Errorf("the parent %v is not in the history %v", parent["ts"], seen)
		}
	})
	t.Run("a user ID as channel posts in the DM", func(t *testing.T) {
		body := mustOK(t, post(t, s, url.Values{"channel": {org.Dave}, "text": {"dm"}}))
		_, open := callForm(t, s, "conversations.open", s.BotToken(), url.Values{"users": {org.Dave}})
		if id := mustOK(t, open)["channel"].(map[string]any)["id"]; id != body["channel"] {
			t.Errorf("DM %v, conversations.open %v: want the same channel", body["channel"], id)
		}
		if _, err := s.WaitMessage(ctx, body["channel"].(string), func(m fakeslack.Message) bool { return m.Text == "dm" }); err != nil {
			t.Fatal(err)
		}
	})
}

// section returns a section block with text of n characters.
func section(n int) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.Repeat("x", n)}}
}

func button(value string) map[string]any {
	return map[string]any{"type": "actions", "elements": []any{map[string]any{
		"type": "button", "action_id": "b", "value": value, "text": map[string]any{"type": "plain_text", "text": "Go"}}}}
}

func blocksJSON(blocks ...map[string]any) string {
	data, _ := json.Marshal(blocks)
	return string(data)
}

func TestMessageLimits(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = section(1)
	}
	for _, tc := range []struct {
		name, text, blocks, want string
	}{
		{name: "text of 40,000 characters passes", text: strings.Repeat("a", 40000)},
		{name: "text over 40,000 characters is msg_too_long", text: strings.Repeat("a", 40001), want: "msg_too_long"},
		{name: "no text and no blocks is no_text", want: "no_text"},
		{name: "50 blocks pass", text: "t", blocks: blocksJSON(many[:50]...)},
		{name: "51 blocks are invalid_blocks", text: "t", blocks: blocksJSON(many...), want: "invalid_blocks"},
		{name: "a section text of 3,000 passes", text: "t", blocks: blocksJSON(section(3000))},
		{name: "a section text over 3,000 is invalid_blocks", text: "t", blocks: blocksJSON(section(3001)), want: "invalid_blocks"},
		{name: "a button value of 2,000 passes", text: "t", blocks: blocksJSON(button(strings.Repeat("v", 2000)))},
		{name: "a button value over 2,000 is invalid_blocks", text: "t", blocks: blocksJSON(button(strings.Repeat("v", 2001))), want: "invalid_blocks"},
		{name: "an input block in a message is invalid_blocks", text: "t", blocks: `[{"type":"input","label":{"type":"plain_text","text":"l"},"element":{"type":"plain_text_input"}}]`, want: "invalid_blocks"},
		{name: "blocks that are not a JSON array are invalid_blocks_format", text: "t", blocks: `{"type":"section"}`, want: "invalid_blocks_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := post(t, s, url.Values{"channel": {org.General}, "text": {tc.text}, "blocks": {tc.blocks}})
			if got := errorCode(t, body); got != tc.want {
				t.Errorf("error = %q, want %q (%v)", got, tc.want, body["response_metadata"])
			}
			if tc.want == "invalid_blocks" {
				if _, ok := body["response_metadata"].(map[string]any)["messages"]; !ok {
					t.Errorf("invalid_blocks without response_metadata.messages: %v", body)
				}
			}
		})
	}
}

func TestPostMessageRateLimit(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{PostMessageBurst: 3})
	for i := range 3 {
		mustOK(t, post(t, s, url.Values{"channel": {org.General}, "text": {fmt.Sprint(i)}}))
	}
	resp, body := callForm(t, s, "chat.postMessage", s.BotToken(), url.Values{"channel": {org.General}, "text": {"over"}})
	if resp.StatusCode != http.StatusTooManyRequests || errorCode(t, body) != "ratelimited" {
		t.Fatalf("HTTP %d %v, want 429 ratelimited", resp.StatusCode, body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
	t.Run("other channels have their own allowance", func(t *testing.T) {
		mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"x"}}))
	})
	t.Run("the limit can be switched off", func(t *testing.T) {
		s.SetRateLimit(false)
		for range 5 {
			mustOK(t, post(t, s, url.Values{"channel": {org.General}, "text": {"x"}}))
		}
	})
}

func TestChatMethods(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	outsider := s.AddUser(fakeslack.User{RealName: "Olga Outsider", Email: "olga@example.com"})
	ts := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"v1"}}))["ts"].(string)
	for _, tc := range []struct {
		name, method string
		args         url.Values
		want         string
	}{
		{name: "chat.update changes the message", method: "chat.update", args: url.Values{"channel": {org.Revocations}, "ts": {ts}, "text": {"v2"}}},
		{name: "chat.update of an unknown ts is message_not_found", method: "chat.update", args: url.Values{"channel": {org.Revocations}, "ts": {"1.2"}, "text": {"v2"}}, want: "message_not_found"},
		{name: "chat.postEphemeral to a member works", method: "chat.postEphemeral", args: url.Values{"channel": {org.Revocations}, "user": {org.Carol}, "text": {"psst"}}},
		{name: "chat.postEphemeral to a non-member is user_not_in_channel", method: "chat.postEphemeral", args: url.Values{"channel": {org.Revocations}, "user": {outsider}, "text": {"psst"}}, want: "user_not_in_channel"},
		{name: "chat.getPermalink links the message", method: "chat.getPermalink", args: url.Values{"channel": {org.Revocations}, "message_ts": {ts}}},
		{name: "an unknown channel is channel_not_found", method: "chat.postMessage", args: url.Values{"channel": {"C404"}, "text": {"x"}}, want: "channel_not_found"},
		{name: "a reply to an unknown thread is thread_not_found", method: "chat.postMessage", args: url.Values{"channel": {org.Revocations}, "text": {"x"}, "thread_ts": {"1.1"}}, want: "thread_not_found"},
		{name: "users.info has the email", method: "users.info", args: url.Values{"user": {org.Alice}}},
		{name: "users.info of nobody is user_not_found", method: "users.info", args: url.Values{"user": {"U404"}}, want: "user_not_found"},
		{name: "users.lookupByEmail finds a person", method: "users.lookupByEmail", args: url.Values{"email": {"BOB@example.com"}}},
		{name: "users.lookupByEmail of nobody is users_not_found", method: "users.lookupByEmail", args: url.Values{"email": {"nobody@example.com"}}, want: "users_not_found"},
		{name: "usergroups.users.list lists members", method: "usergroups.users.list", args: url.Values{"usergroup": {org.Approvers}}},
		{name: "usergroups.users.list of no group is no_such_subteam", method: "usergroups.users.list", args: url.Values{"usergroup": {"S404"}}, want: "no_such_subteam"},
		{name: "conversations.info describes a channel", method: "conversations.info", args: url.Values{"channel": {org.General}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := callForm(t, s, tc.method, s.BotToken(), tc.args)
			if got := errorCode(t, body); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
	if m, _ := s.Message(org.Revocations, ts); m.Text != "v2" || !m.Edited {
		t.Errorf("after chat.update: %+v", m)
	}
	if e := s.Ephemerals(org.Carol); len(e) != 1 || e[0].Text != "psst" {
		t.Errorf("Carol's ephemerals = %+v", e)
	}
	_, info := callForm(t, s, "users.info", s.BotToken(), url.Values{"user": {org.Alice}})
	if email := info["user"].(map[string]any)["profile"].(map[string]any)["email"]; email != "alice@example.com" {
		t.Errorf("profile.email = %v", email)
	}
	_, group := callForm(t, s, "usergroups.users.list", s.BotToken(), url.Values{"usergroup": {org.Approvers}})
	if diff := cmp.Diff([]any{org.Alice, org.Bob}, group["users"]); diff != "" {
		t.Errorf("group members (-want +got):\n%s", diff)
	}
	t.Run("every call is recorded with its arguments but not the token", func(t *testing.T) {
		c := s.CallsTo("chat.update")[0]
		if c.Args["text"] != "v2" || c.Args["token"] != "" || c.At.After(time.Now()) {
			t.Errorf("recorded %+v", c)
		}
	})
}

func TestSeedListsItsOrganisation(t *testing.T) {
	s, org := startServer(t, fastConfig())
	var names []string
	for _, u := range s.Users() {
		names = append(names, u.Name)
	}
	if diff := cmp.Diff([]string{"revokebot", "alice", "bob", "carol", "dave"}, names); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	for _, c := range s.Channels() {
		if c.ID == org.Revocations && len(c.Members) != 5 {
			t.Errorf("#revocations has %d members, want the four people and the bot", len(c.Members))
		}
	}
	if g := s.UserGroups(); len(g) != 1 || g[0].ID != org.Approvers {
		t.Errorf("groups = %+v", g)
	}
}

func TestPermalinksPointAtSlackOrAtPermalinkBase(t *testing.T) {
	for _, tc := range []struct {
		name, base, want string
	}{
		{"by default, the workspace on slack.com", "", "https://revokebot-sandbox.slack.com/archives/"},
		{"with PermalinkBase, there", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/archives/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, org := startServer(t, fakeslack.Config{DisableRateLimit: true, PermalinkBase: tc.base})
			ts := mustOK(t, post(t, s, url.Values{"channel": {org.Revocations}, "text": {"x"}}))["ts"].(string)
			_, body := callForm(t, s, "chat.getPermalink", s.BotToken(), url.Values{"channel": {org.Revocations}, "message_ts": {ts}})
			link, _ := mustOK(t, body)["permalink"].(string)
			want := tc.want + org.Revocations + "/p" + strings.ReplaceAll(ts, ".", "")
			if link != want {
				t.Errorf("permalink = %q, want %q", link, want)
			}
		})
	}
}
