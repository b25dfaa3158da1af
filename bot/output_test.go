package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/slack-go/slack"
)

// busyUpdates spends chat.update's burst on other messages, so that the next update waits for
// its turn.
func busyUpdates(t *testing.T, out *Output) {
	t.Helper()
	for i := range updateBurst {
		if err := out.Update(t.Context(), "C1", fmt.Sprintf("9.%06d", i), slack.MsgOptionText("other", false)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestANewerUpdateReplacesOneWaitingForItsTurn(t *testing.T) {
	fs := &fakeSlack{}
	synctest.Test(t, func(t *testing.T) {
		out := NewOutput(fs, nopObserver{}, discardLog())
		busyUpdates(t, out)
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		wg.Go(func() { errs[0] = out.Update(t.Context(), "C1", "1.000001", slack.MsgOptionText("first", false)) })
		synctest.Wait() // the first waits for its turn
		wg.Go(func() { errs[1] = out.Update(t.Context(), "C1", "1.000001", slack.MsgOptionText("second", false)) })
		wg.Wait()

		if u := fs.updatesOf("1.000001"); len(u) != 1 || u[0].Text != "second" {
			t.Errorf("Slack got %+v; want one update, the newest", u)
		}
		if errs[0] != nil || errs[1] != nil {
			t.Errorf("Update = %v, %v; want both told the one call went through", errs[0], errs[1])
		}
	})
}

func TestAnUpdateWaitingOnOneThatGaveUpIsStillSent(t *testing.T) {
	fs := &fakeSlack{}
	synctest.Test(t, func(t *testing.T) {
		out := NewOutput(fs, nopObserver{}, discardLog())
		busyUpdates(t, out)
		first, cancel := context.WithCancel(t.Context())
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		wg.Go(func() { errs[0] = out.Update(first, "C1", "1.000001", slack.MsgOptionText("first", false)) })
		synctest.Wait()
		wg.Go(func() { errs[1] = out.Update(t.Context(), "C1", "1.000001", slack.MsgOptionText("second", false)) })
		synctest.Wait() // the second waits on the first's turn
		cancel()
		wg.Wait()

		if !errors.Is(errs[0], context.Canceled) {
			t.Errorf("the update that gave up = %v, want its own context's error", errs[0])
		}
		if errs[1] != nil {
			t.Errorf("the update waiting on it = %v, want its own outcome: sent", errs[1])
		}
		if u := fs.updatesOf("1.000001"); len(u) != 1 || u[0].Text != "second" {
			t.Errorf("Slack got %+v; want the second update, once", u)
		}
	})
}
