package fakeslack_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"revokebot/sandbox/fakeslack"
)

func TestConnectionsOpen(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	for _, tc := range []struct {
		name     string
		call     func() map[string]any
		wantCode string
	}{
		{name: "an empty JSON body with the app token opens (slack-go)", call: func() map[string]any {
			_, b := callJSON(t, s, "apps.connections.open", s.AppToken(), map[string]any{})
			return b
		}},
		{name: "a form body opens (Node)", call: func() map[string]any {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIURL()+"apps.connections.open", strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+s.AppToken())
			_, b := do(t, req)
			return b
		}},
		{name: "debug_reconnects is tolerated", call: func() map[string]any {
			_, b := callJSON(t, s, "apps.connections.open", s.AppToken(), map[string]any{"debug_reconnects": true})
			return b
		}},
		{name: "the bot token is the wrong kind", wantCode: "not_allowed_token_type", call: func() map[string]any {
			_, b := callJSON(t, s, "apps.connections.open", s.BotToken(), nil)
			return b
		}},
		{name: "an unknown token is invalid_auth", wantCode: "invalid_auth", call: func() map[string]any {
			_, b := callJSON(t, s, "apps.connections.open", "xapp-wrong", nil)
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.call()
			if got := errorCode(t, body); got != tc.wantCode {
				t.Fatalf("error = %q, want %q (%v)", got, tc.wantCode, body)
			}
			if tc.wantCode == "" {
				u, _ := body["url"].(string)
				want := "ws" + strings.TrimPrefix(s.BaseURL(), "http") + "socket?ticket="
				if !strings.HasPrefix(u, want) {
					t.Errorf("url = %q, want it under the mount point: %s…", u, want)
				}
			}
		})
	}
}

func TestTicketIsSingleUse(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	_, body := callJSON(t, s, "apps.connections.open", s.AppToken(), nil)
	u := mustOK(t, body)["url"].(string)
	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, resp, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil); err == nil {
		t.Fatal("second dial with the same ticket succeeded")
	} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial: %v, want HTTP 401", err)
	}
}

func TestHelloComesFirst(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	_, first := dialSocket(t, s)
	_, second := dialSocket(t, s)
	if first["type"] != "hello" {
		t.Fatalf("first frame %v, want hello", first)
	}
	if diff := cmp.Diff(map[string]any{"app_id": s.AppID()}, first["connection_info"]); diff != "" {
		t.Errorf("connection_info (-want +got):\n%s", diff)
	}
	if _, ok := first["debug_info"].(map[string]any)["approximate_connection_time"].(float64); !ok {
		t.Errorf("debug_info %v lacks approximate_connection_time", first["debug_info"])
	}
	if first["num_connections"] != 1.0 || second["num_connections"] != 2.0 {
		t.Errorf("num_connections = %v then %v, want 1 then 2", first["num_connections"], second["num_connections"])
	}
}

func TestPingsAndPongs(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	conn, _ := dialSocket(t, s)
	pings := make(chan struct{}, 100)
	conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	pongs := make(chan struct{}, 1)
	conn.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-readDone })
	ctx := deadline(t)

	t.Run("the server pings at its interval", func(t *testing.T) {
		for range 2 {
			select {
			case <-pings:
			case <-ctx.Done():
				t.Fatal("no ping from the server")
			}
		}
	})
	t.Run("the server answers the client's pings", func(t *testing.T) {
		if err := conn.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pongs:
		case <-ctx.Done():
			t.Fatal("no pong from the server")
		}
	})
	t.Run("pongs are counted", func(t *testing.T) {
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].Pongs >= 1 && c[0].ClientPings == 1 }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAcksMatchByEnvelopeID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload any
		want    string
	}{
		{name: "an ack without payload counts (slack-go)", payload: nil, want: ""},
		{name: "an ack with {} counts (Node)", payload: map[string]any{}, want: "{}"},
		{name: "an ack's payload is kept as sent", payload: map[string]any{"text": "hi"}, want: `{"text":"hi"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, org := startServer(t, fastConfig())
			startScriptedBot(t, s, func(wireEnvelope) (any, bool) { return tc.payload, true })
			ack, err := s.RunSlashCommand(deadline(t), org.Carol, org.General, "/revoke", "x")
			if err != nil {
				t.Fatal(err)
			}
			if string(ack.Payload) != tc.want {
				t.Errorf("payload = %s, want %s", ack.Payload, tc.want)
			}
			if ack.Latency <= 0 || ack.Latency > time.Second {
				t.Errorf("latency = %v, want a small positive time", ack.Latency)
			}
			envs := s.Envelopes()
			if len(envs) != 1 || !envs[0].Acked || len(envs[0].Deliveries) != 1 {
				t.Errorf("envelopes = %+v, want one acked after one delivery", envs)
			}
		})
	}
}

func TestRedelivery(t *testing.T) {
	t.Run("an unacked envelope comes again with retry_attempt+1, at most three times", func(t *testing.T) {
		s, org := startServer(t, fakeslack.Config{RedeliveryDelay: 20 * time.Millisecond})
		bot := startScriptedBot(t, s, func(wireEnvelope) (any, bool) { return nil, false })
		ctx := deadline(t)
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 }); err != nil {
			t.Fatal(err)
		}
		short, cancel := contextWithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := s.RunSlashCommand(short, org.Carol, org.General, "/revoke", "x"); err == nil {
			t.Fatal("an envelope nobody acked reported an ack")
		}
		id := s.Envelopes()[0].ID
		if _, err := s.WaitDelivery(ctx, id, 3); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range bot.envelopes() {
			got = append(got, e.RetryReason+":"+string(rune('0'+e.RetryAttempt)))
		}
		if diff := cmp.Diff([]string{":0", "timeout:1", "timeout:2", "timeout:3"}, got); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
	})
	t.Run("redelivery can be switched off", func(t *testing.T) {
		s, org := startServer(t, fakeslack.Config{RedeliveryDelay: 10 * time.Millisecond, DisableRedelivery: true})
		startScriptedBot(t, s, func(wireEnvelope) (any, bool) { return nil, false })
		ctx := deadline(t)
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 }); err != nil {
			t.Fatal(err)
		}
		short, cancel := contextWithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, _ = s.RunSlashCommand(short, org.Carol, org.General, "/revoke", "x")
		if n := len(s.Envelopes()[0].Deliveries); n != 1 {
			t.Errorf("%d deliveries, want 1", n)
		}
	})
	t.Run("Redeliver sends the same envelope again at once", func(t *testing.T) {
		s, org := startServer(t, fastConfig())
		bot := startScriptedBot(t, s, ackEmpty)
		ctx := deadline(t)
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", "x"); err != nil {
			t.Fatal(err)
		}
		id := s.Envelopes()[0].ID
		if err := s.Redeliver(id, "timeout"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitDelivery(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, func() bool { return len(bot.envelopes()) == 2 })
		envs := bot.envelopes()
		if envs[0].EnvelopeID != envs[1].EnvelopeID || envs[1].RetryAttempt != 1 || string(envs[0].Payload) != string(envs[1].Payload) {
			t.Errorf("redelivery %+v differs from the original %+v beyond retry_attempt", envs[1], envs[0])
		}
	})
}

func TestEnvelopesSpreadOverConnections(t *testing.T) {
	s, org := startServer(t, fastConfig())
	a := startScriptedBot(t, s, ackEmpty)
	b := startScriptedBot(t, s, ackEmpty)
	ctx := deadline(t)
	for range 20 {
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.envelopes()) == 0 || len(b.envelopes()) == 0 {
		t.Errorf("connections got %d and %d envelopes, want both some", len(a.envelopes()), len(b.envelopes()))
	}
	t.Run("DeliverOnEveryConnection reaches both", func(t *testing.T) {
		id, err := s.SendEvent(map[string]any{"type": "app_mention", "user": org.Carol, "text": "hi", "channel": org.General})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.DeliverOnEveryConnection(id); err != nil {
			t.Fatal(err)
		}
		has := func(bot *scriptedBot) bool {
			n := 0
			for _, e := range bot.envelopes() {
				if e.EnvelopeID == id {
					n++
				}
			}
			return n >= 1
		}
		waitUntil(t, func() bool { return has(a) && has(b) })
	})
}

func TestEnvelopeWaitsForAConnection(t *testing.T) {
	s, org := startServer(t, fastConfig())
	ctx := deadline(t)
	acked := make(chan error, 1)
	go func() {
		_, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", "queued")
		acked <- err
	}()
	waitUntil(t, func() bool { return len(s.Envelopes()) == 1 })
	bot := startScriptedBot(t, s, ackEmpty)
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	if got := bot.envelopes(); len(got) != 1 || got[0].RetryAttempt != 0 {
		t.Errorf("the new connection got %+v, want the queued envelope once", got)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		wantClose bool
	}{
		{name: "a frame of 20,479 bytes passes", size: 20479},
		{name: "a frame of 20,480 bytes closes the socket with 1009", size: 20480, wantClose: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := startServer(t, fastConfig())
			conn, _ := dialSocket(t, s)
			frame := `{"envelope_id":"x","payload":{"text":"` + strings.Repeat("a", tc.size-len(`{"envelope_id":"x","payload":{"text":""}}`)) + `"}}`
			if len(frame) != tc.size {
				t.Fatalf("frame is %d bytes", len(frame))
			}
			if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
				t.Fatal(err)
			}
			if !tc.wantClose {
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
					t.Fatal(err)
				}
				if _, err := s.WaitConnections(deadline(t), func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].ClientPings == 1 }); err != nil {
					t.Fatal(err)
				}
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err := conn.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
				t.Errorf("read after the big frame: %v, want close 1009", err)
			}
		})
	}
}

func TestDisconnectAndCut(t *testing.T) {
	s, _ := startServer(t, fastConfig())
	conn, _ := dialSocket(t, s)
	ctx := deadline(t)
	t.Run("disconnect carries its reason", func(t *testing.T) {
		s.Disconnect("warning")
		var msg map[string]any
		for msg["type"] != "disconnect" {
			msg = nil
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := conn.ReadJSON(&msg); err != nil {
				t.Fatal(err)
			}
		}
		if msg["reason"] != "warning" {
			t.Errorf("disconnect = %v, want reason warning", msg)
		}
	})
	t.Run("a cut drops the socket without a close frame", func(t *testing.T) {
		s.CutConnections()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var err error
		for err == nil {
			_, _, err = conn.ReadMessage()
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Errorf("read after a cut: %v, want an abrupt end (1006, no close frame)", err)
		}
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 0 }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDebugReconnectsAsksForARefresh(t *testing.T) {
	s, _ := startServer(t, fakeslack.Config{DebugReconnectAfter: 50 * time.Millisecond})
	_, body := callJSON(t, s, "apps.connections.open", s.AppToken(), map[string]any{"debug_reconnects": true})
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), mustOK(t, body)["url"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hello, next map[string]any
	if err := conn.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if got := hello["debug_info"].(map[string]any)["approximate_connection_time"]; got != 0.0 {
		t.Errorf("approximate_connection_time = %v, want the shortened lifetime in whole seconds", got)
	}
	if err := conn.ReadJSON(&next); err != nil {
		t.Fatal(err)
	}
	if next["type"] != "disconnect" || next["reason"] != "refresh_requested" {
		t.Errorf("frame after hello = %v, want disconnect refresh_requested", next)
	}
}

func TestABlackholedSocketCarriesNothing(t *testing.T) {
	s, org := startServer(t, fastConfig())
	conn, _ := dialSocket(t, s)
	ctx := deadline(t)
	ids := s.BlackholeConnections()
	if len(ids) != 1 {
		t.Fatalf("blackholed %v, want the one connection", ids)
	}
	if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].Blackholed }); err != nil {
		t.Fatal(err)
	}
	before := s.Connections()[0]

	// An envelope sent now is delivered into the void: Slack does not know the socket is dead.
	sent := make(chan error, 1)
	go func() {
		_, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", "while silent")
		sent <- err
	}()
	waitUntil(t, func() bool { envs := s.Envelopes(); return len(envs) == 1 && len(envs[0].Deliveries) >= 1 })
	id := s.Envelopes()[0].ID
	// The client's ping and its ack of the envelope are lost on the way.
	if err := conn.WriteControl(websocket.PingMessage, []byte("anyone?"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": id}); err != nil {
		t.Fatal(err)
	}
	pongs := 0
	conn.SetPongHandler(func(string) error { pongs++; return nil })
	conn.SetPingHandler(func(string) error { t.Error("a ping came through the blackhole"); return nil })
	// Twenty ping intervals of fastConfig without a single frame: the socket stays open and
	// silent (a read that times out, not one that fails).
	_ = conn.SetReadDeadline(time.Now().Add(20 * fastConfig().PingInterval))
	_, frame, err := conn.ReadMessage()
	var netErr interface{ Timeout() bool }
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("read from a blackholed socket = %q, %v; want nothing until the deadline", frame, err)
	}
	if pongs != 0 {
		t.Errorf("%d pongs came through the blackhole", pongs)
	}
	after := s.Connections()[0]
	if after.Pings != before.Pings || after.ClientPings != before.ClientPings {
		t.Errorf("pings counted while blackholed: %+v then %+v", before, after)
	}
	if envs := s.Envelopes(); envs[0].Acked {
		t.Fatal("an ack crossed the blackhole")
	}

	t.Run("what it swallowed is redelivered on the next connection", func(t *testing.T) {
		bot := startScriptedBot(t, s, ackEmpty)
		if err := <-sent; err != nil {
			t.Fatalf("the envelope sent while silent was never acked: %v", err)
		}
		got := bot.envelopes()
		if len(got) == 0 || got[0].EnvelopeID != id || got[0].RetryAttempt == 0 || got[0].RetryReason != "timeout" {
			t.Errorf("the new connection got %+v, want envelope %s as a retry", got, id)
		}
	})
	t.Run("the socket is forgotten once the client closes it", func(t *testing.T) {
		conn.Close()
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool {
			for _, x := range c {
				if x.Blackholed {
					return false
				}
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	})
}
