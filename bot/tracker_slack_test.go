package bot

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/sandbox/fakeslack"
	"revokebot/store"
	"revokebot/store/storetest"
)

// stillProcessing is an AccessOwl where every revocation is still being processed.
type stillProcessing struct{}

func (stillProcessing) ListRevocations(context.Context, apiclient.RevocationListOptions) ([]apiclient.Revocation, string, error) {
	return nil, "", nil
}

func (stillProcessing) GetRevocation(_ context.Context, id string) (*apiclient.Revocation, error) {
	return &apiclient.Revocation{ID: id, Status: apiclient.RevocationProcessing}, nil
}

func (stillProcessing) BackgroundDelay() time.Duration { return 0 }

// TestRecoveryReadsTheThreadThroughSlacksWebAPI runs recovery through slack-go against the fake
// Slack workspace, so the metadata that marks a status reply is checked on its way through
// chat.postMessage and conversations.replies as Slack encodes it.
func TestRecoveryReadsTheThreadThroughSlacksWebAPI(t *testing.T) {
	tests := []struct {
		name     string
		inThread bool
	}{
		{"a reply already in the thread is recorded, not posted again", true},
		{"a reply missing from the thread is posted once", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeslack.NewServer(fakeslack.Config{})
			defer srv.Close()
			org := srv.Seed()
			api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
			out := NewOutput(api, nopObserver{}, discardLog())
			ctx := t.Context()
			st := newMemStore()

			req := storetest.NewRequest(1)
			req.Channel = org.Revocations
			if _, err := st.CreateRequest(ctx, req); err != nil {
				t.Fatal(err)
			}
			ts, err := out.Post(ctx, req.Channel, ApprovalMessage(req, Progress{}, "value")...)
			if err != nil {
				t.Fatal(err)
			}
			req.MessageTS = ts
			if err := st.SetMessage(ctx, req.ID, req.Channel, ts); err != nil {
				t.Fatal(err)
			}
			const revID = "0b5e9a3c-7d1f-4c2a-9e8b-000000000001"
			if _, err := out.Post(ctx, req.Channel, append(StatusReply(req, "another", "processing_access"), slack.MsgOptionTS(ts))...); err != nil {
				t.Fatal(err)
			}
			wantTS := ""
			if tt.inThread {
				if wantTS, err = out.Post(ctx, req.Channel, append(StatusReply(req, revID, "processing_access"), slack.MsgOptionTS(ts))...); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now()
			if err := st.Track(ctx, store.Tracked{RevocationID: revID, RequestID: req.ID, Status: "processing_access", NextCheck: now.Add(time.Hour), UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.ClaimStatus(ctx, store.StatusPost{RevocationID: revID, RequestID: req.ID, Status: "processing_access", ClaimedAt: now.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}

			tr, err := NewTracker(TrackerConfig{Store: st, Source: stillProcessing{}, Output: out, Threads: api, Log: discardLog()})
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, tr)
			defer stop()
			deadline := time.Now().Add(10 * time.Second)
			for {
				unposted, err := st.UnpostedStatuses(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(unposted) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("still unposted after 10 s: %+v", unposted)
				}
				time.Sleep(10 * time.Millisecond)
			}

			var ours []fakeslack.Message
			for _, m := range srv.Thread(req.Channel, ts) {
				var md slack.SlackMetadata
				if m.TS != ts && len(m.Metadata) > 0 && decodeInto(m.Metadata, &md) && md.EventPayload["revocation_id"] == revID {
					ours = append(ours, m)
				}
			}
			if len(ours) != 1 {
				t.Fatalf("%d replies announcing the status in the thread, want 1", len(ours))
			}
			posted := st.posts[statusKey{revID, "processing_access"}].PostedTS
			if tt.inThread && posted != wantTS {
				t.Errorf("recorded reply %q, want the one already in the thread, %q", posted, wantTS)
			}
			if posted != ours[0].TS {
				t.Errorf("recorded reply %q, want the thread's %q", posted, ours[0].TS)
			}
		})
	}
}

func decodeInto(raw []byte, v any) bool { return json.Unmarshal(raw, v) == nil }
