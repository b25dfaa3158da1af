package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
)

// BenchmarkQueries measures the queries the bot runs most, on a store of 10,000 requests of which
// 1,000 are being tracked, with the page cache the bot uses and with SQLite's default (2,000
// KiB): a request read by ID, the tracker's and the resubmitter's scans, and a decision.
func BenchmarkQueries(b *testing.B) {
	for _, kib := range []int{pageCacheKiB, 2000} {
		b.Run(fmt.Sprintf("cache=%dKiB", kib), func(b *testing.B) {
			defer func(old int) { pageCacheKiB = old }(pageCacheKiB)
			pageCacheKiB = kib
			s, err := Open(b.Context(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ids := seedForBenchmark(b, s, 10_000, 1_000)
			b.Run("Request", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := s.Request(b.Context(), ids[(i*7919)%len(ids)]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Tracking", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Tracking(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Unsubmitted", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Unsubmitted(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Decide", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					d := store.Decision{State: store.Approved, By: "U1", At: time.Now()}
					if _, _, err := s.Decide(b.Context(), ids[(i*7919)%len(ids)], d); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// seedForBenchmark creates n requests of one item each, the first tracked of them approved and
// submitted, and returns their IDs.
func seedForBenchmark(b *testing.B, s *Store, n, tracked int) []uuid.UUID {
	b.Helper()
	now := time.Now().UTC()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		r := store.Request{
			ID: uuid.New(), RequesterID: "U0", Grantee: store.Person{AccessOwlID: uuid.NewString(), Name: "Lena Vogel"},
			Items:  []store.Item{{AccessStateID: uuid.NewString(), ApplicationID: "app", ApplicationTitle: "GitHub"}},
			Reason: fmt.Sprintf("benchmark %d", i), Channel: "C1", MessageTS: fmt.Sprintf("%d.%06d", now.Unix(), i), CreatedAt: now,
		}
		ids[i] = r.ID
		if _, err := s.CreateRequest(b.Context(), r); err != nil {
			b.Fatal(err)
		}
		if i >= tracked {
			continue
		}
		as := r.Items[0].AccessStateID
		_, _, err := s.Decide(b.Context(), r.ID, store.Decision{State: store.Approved, By: "U1", At: now})
		if err == nil {
			_, err = s.MarkSubmitting(b.Context(), r.ID, as, now)
		}
		if err == nil {
			err = s.SetRevocation(b.Context(), r.ID, as, uuid.NewString(), now)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}
