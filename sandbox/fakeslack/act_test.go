package fakeslack_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"revokebot/sandbox/fakeslack"
)

func TestSlashCommandAnswers(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ack           any
		wantEphemeral []string
		wantChannel   []string
	}{
		{name: "an ack's text is shown to the user alone by default", ack: map[string]any{"text": "only you"}, wantEphemeral: []string{"only you"}},
		{name: "in_channel posts the answer in the channel", ack: map[string]any{"text": "everyone", "response_type": "in_channel"}, wantChannel: []string{"everyone"}},
		{name: "an empty ack shows nothing", ack: map[string]any{}},
		{name: "no payload shows nothing", ack: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, org := startServer(t, fastConfig())
			bot := startScriptedBot(t, s, func(wireEnvelope) (any, bool) { return tc.ack, true })
			if _, err := s.RunSlashCommand(deadline(t), org.Carol, org.General, "/revoke", "abc"); err != nil {
				t.Fatal(err)
			}
			var eph, ch []string
			for _, e := range s.Ephemerals(org.Carol) {
				eph = append(eph, e.Text)
			}
			for _, m := range s.Messages(org.General) {
				ch = append(ch, m.Text)
			}
			if diff := cmp.Diff(tc.wantEphemeral, eph); diff != "" {
				t.Errorf("ephemerals (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantChannel, ch); diff != "" {
				t.Errorf("channel (-want +got):\n%s", diff)
			}
			env := bot.envelopes()[0]
			p := payloadOf(t, env)
			for _, k := range []string{"command", "text", "user_id", "user_name", "channel_id", "channel_name", "team_id", "trigger_id", "response_url", "api_app_id"} {
				if p[k] == "" || p[k] == nil {
					t.Errorf("slash command payload lacks %s: %v", k, p)
				}
			}
			if env.Type != "slash_commands" || !env.AcceptsResponsePayload {
				t.Errorf("envelope %+v, want slash_commands accepting a response payload", env)
			}
		})
	}
}

// approvalMessage posts a message with Approve and Reject buttons as the bot and returns its ts.
func approvalMessage(t *testing.T, s *fakeslack.Server, channel string) string {
	t.Helper()
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"Revoke?"}},{"type":"actions","block_id":"decide","elements":[` +
		`{"type":"button","action_id":"approve","value":"req-1","style":"primary","text":{"type":"plain_text","text":"Approve"}},` +
		`{"type":"button","action_id":"reject","value":"req-1","text":{"type":"plain_text","text":"Reject"}}]}]`
	return mustOK(t, post(t, s, url.Values{"channel": {channel}, "text": {"Revoke?"}, "blocks": {blocks}}))["ts"].(string)
}

func TestClickButton(t *testing.T) {
	s, org := startServer(t, fastConfig())
	bot := startScriptedBot(t, s, ackEmpty)
	ctx := deadline(t)
	ts := approvalMessage(t, s, org.Revocations)
	for _, tc := range []struct {
		name, button, wantAction string
	}{
		{name: "a button is found by its action_id", button: "reject", wantAction: "reject"},
		{name: "a button is found by its text", button: "Approve", wantAction: "approve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.ClickButton(ctx, org.Alice, org.Revocations, ts, tc.button); err != nil {
				t.Fatal(err)
			}
			envs := bot.envelopes()
			p := payloadOf(t, envs[len(envs)-1])
			action := p["actions"].([]any)[0].(map[string]any)
			if action["action_id"] != tc.wantAction || action["value"] != "req-1" || action["block_id"] != "decide" || action["type"] != "button" {
				t.Errorf("action = %v", action)
			}
			container := p["container"].(map[string]any)
			if container["message_ts"] != ts || container["channel_id"] != org.Revocations || container["type"] != "message" {
				t.Errorf("container = %v", container)
			}
			if p["user"].(map[string]any)["id"] != org.Alice || p["trigger_id"] == "" || p["response_url"] == "" || p["message"] == nil {
				t.Errorf("payload lacks user, trigger_id, response_url or message: %v", p)
			}
		})
	}
	t.Run("an unknown button is ErrNotFound", func(t *testing.T) {
		if _, err := s.ClickButton(ctx, org.Alice, org.Revocations, ts, "Maybe"); err == nil {
			t.Fatal("clicked a button that does not exist")
		}
	})
}

func TestClickStaleButton(t *testing.T) {
	s, org := startServer(t, fastConfig())
	bot := startScriptedBot(t, s, ackEmpty)
	ctx := deadline(t)
	ts := approvalMessage(t, s, org.Revocations)
	seen, ok := s.Message(org.Revocations, ts)
	if !ok {
		t.Fatal("no approval message")
	}
	// The buttons go, as after a decision; Bob's client still shows them.
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	if _, _, _, err := api.UpdateMessageContext(ctx, org.Revocations, ts, slack.MsgOptionText("decided", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClickButton(ctx, org.Bob, org.Revocations, ts, "approve"); err == nil {
		t.Fatal("clicked a button the current message no longer has")
	}
	if _, err := s.ClickStaleButton(ctx, org.Bob, seen, "approve"); err != nil {
		t.Fatalf("a click on the message as Bob saw it: %v", err)
	}
	envs := bot.envelopes()
	p := payloadOf(t, envs[len(envs)-1])
	if p["user"].(map[string]any)["id"] != org.Bob || p["actions"].([]any)[0].(map[string]any)["value"] != "req-1" {
		t.Errorf("stale click payload = %v", p)
	}
}

func TestResponseURL(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	bot := startScriptedBot(t, s, ackEmpty)
	ctx := deadline(t)
	ts := approvalMessage(t, s, org.Revocations)
	if _, err := s.ClickButton(ctx, org.Alice, org.Revocations, ts, "approve"); err != nil {
		t.Fatal(err)
	}
	responseURL := payloadOf(t, bot.envelopes()[0])["response_url"].(string)
	respond := func(body map[string]any) (int, string) {
		data, _ := json.Marshal(body)
		resp, err := http.Post(responseURL, "application/json", strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		code, _ := out["error"].(string)
		return resp.StatusCode, code
	}
	if !strings.HasPrefix(responseURL, s.BaseURL()+"response/") {
		t.Errorf("response_url %q is not under the mount point", responseURL)
	}
	steps := []struct {
		name  string
		body  map[string]any
		check func(t *testing.T)
	}{
		{name: "the default answer is ephemeral", body: map[string]any{"text": "noted"}, check: func(t *testing.T) {
			if _, err := s.WaitEphemeral(ctx, org.Alice, func(e fakeslack.Ephemeral) bool { return e.Text == "noted" && e.Source == "response_url" }); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "in_channel with thread_ts replies in the thread", body: map[string]any{"text": "threaded", "response_type": "in_channel", "thread_ts": ts}, check: func(t *testing.T) {
			if _, err := s.WaitReply(ctx, org.Revocations, ts, func(m fakeslack.Message) bool { return m.Text == "threaded" }); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "replace_original replaces the clicked message", body: map[string]any{"text": "Approved by Alice", "replace_original": true}, check: func(t *testing.T) {
			if _, err := s.WaitMessageState(ctx, org.Revocations, ts, func(m fakeslack.Message) bool { return m.Text == "Approved by Alice" && len(m.Blocks) == 0 }); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a fourth use works", body: map[string]any{"text": "four"}},
		{name: "delete_original deletes the clicked message", body: map[string]any{"delete_original": true}, check: func(t *testing.T) {
			if _, ok := s.Message(org.Revocations, ts); ok {
				t.Error("message still there")
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if status, code := respond(st.body); status != http.StatusOK || code != "" {
				t.Fatalf("HTTP %d %q", status, code)
			}
			if st.check != nil {
				st.check(t)
			}
		})
	}
	t.Run("a sixth use is refused", func(t *testing.T) {
		if status, code := respond(map[string]any{"text": "six"}); status != http.StatusNotFound || code != "used_url" {
			t.Errorf("HTTP %d %q, want 404 used_url", status, code)
		}
	})
}

func TestResponseURLExpires(t *testing.T) {
	clock := newFakeClock()
	s, org := startServer(t, fakeslack.Config{Now: clock.Now})
	bot := startScriptedBot(t, s, ackEmpty)
	if _, err := s.RunSlashCommand(deadline(t), org.Carol, org.General, "/revoke", ""); err != nil {
		t.Fatal(err)
	}
	responseURL := payloadOf(t, bot.envelopes()[0])["response_url"].(string)
	clock.Advance(30*time.Minute + time.Second)
	resp, err := http.Post(responseURL, "application/json", strings.NewReader(`{"text":"late"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HTTP %d after 30 minutes, want 404", resp.StatusCode)
	}
}

const revokeModal = `{"type":"modal","callback_id":"revoke","title":{"type":"plain_text","text":"Revoke access"},
"submit":{"type":"plain_text","text":"Request"},"notify_on_close":true,"private_metadata":"pm",
"blocks":[
 {"type":"section","block_id":"who","text":{"type":"mrkdwn","text":"Whose access?"},"accessory":{"type":"users_select","action_id":"person"}},
 {"type":"input","block_id":"access","label":{"type":"plain_text","text":"Access"},"element":{"type":"external_select","action_id":"access_state","min_query_length":0}},
 {"type":"input","block_id":"reason","label":{"type":"plain_text","text":"Reason"},"element":{"type":"plain_text_input","action_id":"reason"}},
 {"type":"input","block_id":"note","optional":true,"label":{"type":"plain_text","text":"Note"},"element":{"type":"plain_text_input","action_id":"note"}}
]}`

// openModal runs /revoke as user and opens revokeModal from its trigger_id.
func openModal(t *testing.T, s *fakeslack.Server, bot *scriptedBot, user, channel string) fakeslack.View {
	t.Helper()
	ctx := deadline(t)
	if _, err := s.RunSlashCommand(ctx, user, channel, "/revoke", ""); err != nil {
		t.Fatal(err)
	}
	envs := bot.envelopes()
	trigger := payloadOf(t, envs[len(envs)-1])["trigger_id"].(string)
	_, body := callJSON(t, s, "views.open", s.BotToken(), map[string]any{"trigger_id": trigger, "view": json.RawMessage(revokeModal)})
	mustOK(t, body)
	v, err := s.WaitModal(ctx, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestModalActs(t *testing.T) {
	s, org := startServer(t, fastConfig())
	var reply json.RawMessage
	bot := startScriptedBot(t, s, func(env wireEnvelope) (any, bool) {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(env.Payload, &p)
		switch p.Type {
		case "block_suggestion":
			return json.RawMessage(`{"options":[{"text":{"type":"plain_text","text":"GitHub · org · admin"},"value":"as_1"}]}`), true
		case "view_submission":
			return reply, true
		}
		return nil, true
	})
	ctx := deadline(t)
	view := openModal(t, s, bot, org.Carol, org.General)

	t.Run("choosing in a section's users_select sends block_actions with the view", func(t *testing.T) {
		ack, err := s.SetModalInput(ctx, org.Carol, "person", fakeslack.UserValue(org.Dave))
		if err != nil || ack == nil {
			t.Fatalf("ack %v, err %v: want an ack", ack, err)
		}
		envs := bot.envelopes()
		p := payloadOf(t, envs[len(envs)-1])
		if p["type"] != "block_actions" || p["view"].(map[string]any)["id"] != view.ID {
			t.Fatalf("payload = %v", p)
		}
		if got := p["actions"].([]any)[0].(map[string]any)["selected_user"]; got != org.Dave {
			t.Errorf("selected_user = %v", got)
		}
	})
	t.Run("an external select loads options through block_suggestion", func(t *testing.T) {
		opts, err := s.ModalOptions(ctx, org.Carol, "access_state", "git")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]fakeslack.Option{{Text: "GitHub · org · admin", Value: "as_1"}}, opts); diff != "" {
			t.Errorf("options (-want +got):\n%s", diff)
		}
	})
	t.Run("a required input left empty cannot be submitted and says so under each", func(t *testing.T) {
		res, err := s.SubmitModal(ctx, org.Carol)
		if !errors.Is(err, fakeslack.ErrRequiredEmpty) {
			t.Fatalf("submit with required inputs empty: %v, want ErrRequiredEmpty", err)
		}
		v, _ := s.Modal(org.Carol)
		if len(res.Errors) < 2 || !maps.Equal(res.Errors, v.Errors) {
			t.Errorf("errors %v, view's errors %v: want one under each empty input", res.Errors, v.Errors)
		}
	})
	t.Run("typing into an input block sends nothing until submission", func(t *testing.T) {
		before := len(bot.envelopes())
		for id, v := range map[string]fakeslack.Value{"access_state": fakeslack.OptionValue("GitHub · org · admin", "as_1"), "reason": fakeslack.TextValue("left")} {
			if ack, err := s.SetModalInput(ctx, org.Carol, id, v); err != nil || ack != nil {
				t.Fatalf("set %s: ack %v err %v, want neither", id, ack, err)
			}
		}
		if after := len(bot.envelopes()); after != before {
			t.Errorf("%d envelopes sent while typing", after-before)
		}
	})
	t.Run("response_action errors keeps the modal with its errors", func(t *testing.T) {
		reply = json.RawMessage(`{"response_action":"errors","errors":{"reason":"Say more"}}`)
		res, err := s.SubmitModal(ctx, org.Carol)
		if err != nil {
			t.Fatal(err)
		}
		if res.ResponseAction != "errors" {
			t.Errorf("result %+v", res)
		}
		envs := bot.envelopes()
		var p struct {
			View struct {
				State struct {
					Values map[string]map[string]json.RawMessage `json:"values"`
				} `json:"state"`
				PrivateMetadata string `json:"private_metadata"`
			} `json:"view"`
		}
		_ = json.Unmarshal(envs[len(envs)-1].Payload, &p)
		if string(p.View.State.Values["reason"]["reason"]) != `{"type":"plain_text_input","value":"left"}` || p.View.PrivateMetadata != "pm" {
			t.Errorf("submitted view state = %v", p.View)
		}
		if _, ok := p.View.State.Values["note"]["note"]; !ok {
			t.Errorf("state lacks the empty optional input: %v", p.View.State.Values)
		}
		v, _ := s.Modal(org.Carol)
		if diff := cmp.Diff(map[string]string{"reason": "Say more"}, v.Errors); diff != "" {
			t.Errorf("modal errors (-want +got):\n%s", diff)
		}
	})
	t.Run("response_action push stacks a view, update replaces it", func(t *testing.T) {
		reply = json.RawMessage(`{"response_action":"push","view":{"type":"modal","callback_id":"confirm","title":{"type":"plain_text","text":"Sure?"},"submit":{"type":"plain_text","text":"Yes"},"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Really?"}}]}}`)
		if _, err := s.SubmitModal(ctx, org.Carol); err != nil {
			t.Fatal(err)
		}
		if stack := s.ModalStack(org.Carol); len(stack) != 2 || stack[1].CallbackID != "confirm" || stack[1].RootViewID != view.ID {
			t.Fatalf("stack = %+v", stack)
		}
		reply = json.RawMessage(`{"response_action":"update","view":{"type":"modal","callback_id":"done","title":{"type":"plain_text","text":"Done"},"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Requested"}}]}}`)
		if _, err := s.SubmitModal(ctx, org.Carol); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Modal(org.Carol); v.CallbackID != "done" {
			t.Errorf("top view = %+v, want the update", v)
		}
	})
	t.Run("an empty ack closes the submitted view", func(t *testing.T) {
		reply = nil
		if _, err := s.SubmitModal(ctx, org.Carol); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Modal(org.Carol); v.ID != view.ID {
			t.Errorf("top view = %s, want the first view back", v.ID)
		}
	})
	t.Run("response_action clear closes every view", func(t *testing.T) {
		reply = json.RawMessage(`{"response_action":"clear"}`)
		if _, err := s.SubmitModal(ctx, org.Carol); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitModalClosed(ctx, org.Carol); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("closing a view with notify_on_close sends view_closed", func(t *testing.T) {
		openModal(t, s, bot, org.Carol, org.General)
		ack, err := s.CloseModal(ctx, org.Carol)
		if err != nil || ack == nil {
			t.Fatalf("ack %v err %v", ack, err)
		}
		envs := bot.envelopes()
		if p := payloadOf(t, envs[len(envs)-1]); p["type"] != "view_closed" {
			t.Errorf("payload type %v, want view_closed", p["type"])
		}
	})
}

func TestViewsMethods(t *testing.T) {
	s, org := startServer(t, fastConfig())
	bot := startScriptedBot(t, s, ackEmpty)
	ctx := deadline(t)
	trigger := func() string {
		t.Helper()
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", ""); err != nil {
			t.Fatal(err)
		}
		envs := bot.envelopes()
		return payloadOf(t, envs[len(envs)-1])["trigger_id"].(string)
	}
	small := func(title string) map[string]any {
		return map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": title},
			"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "x"}}}}
	}
	open := func(tid string, view any) string {
		_, body := callJSON(t, s, "views.open", s.BotToken(), map[string]any{"trigger_id": tid, "view": view})
		return errorCode(t, body)
	}

	t.Run("a trigger_id works once", func(t *testing.T) {
		tid := trigger()
		if code := open(tid, small("One")); code != "" {
			t.Fatalf("first use: %s", code)
		}
		if code := open(tid, small("Two")); code != "exchanged_trigger_id" {
			t.Errorf("second use: %q, want exchanged_trigger_id", code)
		}
		if code := open("1.2.3", small("Two")); code != "invalid_trigger_id" {
			t.Errorf("made-up trigger: %q, want invalid_trigger_id", code)
		}
	})
	t.Run("view limits are invalid_arguments", func(t *testing.T) {
		many := make([]any, 101)
		for i := range many {
			many[i] = map[string]any{"type": "divider"}
		}
		for name, view := range map[string]map[string]any{
			"a title over 24 characters":          small(strings.Repeat("t", 25)),
			"more than 100 blocks":                {"type": "modal", "title": map[string]any{"type": "plain_text", "text": "t"}, "blocks": many},
			"private_metadata over 3,000":         {"type": "modal", "title": map[string]any{"type": "plain_text", "text": "t"}, "blocks": []any{}, "private_metadata": strings.Repeat("p", 3001)},
			"input blocks without submit":         {"type": "modal", "title": map[string]any{"type": "plain_text", "text": "t"}, "blocks": []any{map[string]any{"type": "input", "label": map[string]any{"type": "plain_text", "text": "l"}, "element": map[string]any{"type": "plain_text_input"}}}},
			"a section text over 3,000 in a view": {"type": "modal", "title": map[string]any{"type": "plain_text", "text": "t"}, "blocks": []any{section(3001)}},
		} {
			if code := open(trigger(), view); code != "invalid_arguments" {
				t.Errorf("%s: %q, want invalid_arguments", name, code)
			}
		}
	})
	t.Run("views.update checks the hash", func(t *testing.T) {
		if code := open(trigger(), small("Base")); code != "" {
			t.Fatal(code)
		}
		v, _ := s.Modal(org.Carol)
		_, body := callJSON(t, s, "views.update", s.BotToken(), map[string]any{"view_id": v.ID, "hash": "stale", "view": small("New")})
		if code := errorCode(t, body); code != "hash_conflict" {
			t.Errorf("stale hash: %q, want hash_conflict", code)
		}
		_, body = callJSON(t, s, "views.update", s.BotToken(), map[string]any{"view_id": v.ID, "hash": v.Hash, "view": small("New")})
		mustOK(t, body)
		_, body = callJSON(t, s, "views.update", s.BotToken(), map[string]any{"view_id": "V404", "view": small("New")})
		if code := errorCode(t, body); code != "not_found" {
			t.Errorf("unknown view: %q, want not_found", code)
		}
	})
	t.Run("views.push stacks at most three views", func(t *testing.T) {
		for i, want := range []string{"", "", "push_limit_reached"} {
			_, body := callJSON(t, s, "views.push", s.BotToken(), map[string]any{"trigger_id": trigger(), "view": small("Push")})
			if code := errorCode(t, body); code != want {
				t.Errorf("push %d: %q, want %q", i+1, code, want)
			}
		}
	})
}

func TestTriggerExpires(t *testing.T) {
	clock := newFakeClock()
	s, org := startServer(t, fakeslack.Config{Now: clock.Now})
	bot := startScriptedBot(t, s, ackEmpty)
	if _, err := s.RunSlashCommand(deadline(t), org.Carol, org.General, "/revoke", ""); err != nil {
		t.Fatal(err)
	}
	tid := payloadOf(t, bot.envelopes()[0])["trigger_id"].(string)
	clock.Advance(3*time.Second + time.Millisecond)
	_, body := callJSON(t, s, "views.open", s.BotToken(), map[string]any{"trigger_id": tid, "view": json.RawMessage(revokeModal)})
	if code := errorCode(t, body); code != "expired_trigger_id" {
		t.Errorf("views.open after 3 s: %q, want expired_trigger_id", code)
	}
}

func TestChangeStream(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	changes, stop := s.Subscribe()
	defer stop()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.BaseURL()+"changes", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sse := bufio.NewScanner(resp.Body)
	sse.Scan() // the ": connected" comment, sent once the subscription exists

	mustOK(t, post(t, s, url.Values{"channel": {org.General}, "text": {"live"}}))

	t.Run("a Go subscriber sees the message", func(t *testing.T) {
		ctx := deadline(t)
		for {
			select {
			case c := <-changes:
				if c.Kind == fakeslack.ChangeMessage && c.Message.Text == "live" {
					return
				}
			case <-ctx.Done():
				t.Fatal("no message change")
			}
		}
	})
	t.Run("an SSE client sees the message", func(t *testing.T) {
		for sse.Scan() {
			if line := sse.Text(); strings.HasPrefix(line, "data: ") && strings.Contains(line, `"text":"live"`) {
				return
			}
		}
		t.Fatalf("stream ended: %v", sse.Err())
	})
}

// TestACommandsAnswerReplacesItsAckWhicheverArrivesFirst has the app post replace_original
// through a command's response_url as it acks the command with a note: the socket and HTTP may
// deliver the two in either order, and the person must end up seeing the answer only.
func TestACommandsAnswerReplacesItsAckWhicheverArrivesFirst(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{DisableRateLimit: true})
	var posts sync.WaitGroup
	t.Cleanup(posts.Wait)
	startScriptedBot(t, s, func(env wireEnvelope) (any, bool) {
		var p struct {
			ResponseURL string `json:"response_url"`
			Text        string `json:"text"`
		}
		_ = json.Unmarshal(env.Payload, &p)
		posts.Go(func() {
			body := strings.NewReader(`{"text":"answer to ` + p.Text + `","replace_original":true}`)
			if resp, err := http.Post(p.ResponseURL, "application/json", body); err == nil {
				resp.Body.Close()
			}
		})
		return map[string]any{"text": "Looking up…"}, true
	})
	ctx := deadline(t)
	const commands = 5
	for i := range commands {
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool {
		var answers int
		for _, e := range s.Ephemerals(org.Carol) {
			if strings.HasPrefix(e.Text, "answer to ") {
				answers++
			}
		}
		return answers == commands
	})
	for _, e := range s.Ephemerals(org.Carol) {
		if e.Text == "Looking up…" {
			t.Errorf("a note stayed beside its answer: %+v", s.Ephemerals(org.Carol))
			break
		}
	}
}
