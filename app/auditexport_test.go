package app

import (
	"errors"
	"testing"
	"time"

	"revokebot/store"
	"revokebot/store/sqlite"
	"revokebot/store/storetest"
)

// failingWriter refuses every write, as a closed pipe to a SIEM's collector would.
type failingWriter struct{ writes int }

func (w *failingWriter) Write([]byte) (int, error) {
	w.writes++
	return 0, errors.New("broken pipe")
}

func TestAuditExportStreamsAndStopsWhenTheReaderGoes(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const records = 2000
	id := storetest.NewRequest(1).ID
	t0 := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	for i := range records {
		if err := st.Audit(t.Context(), store.AuditRecord{At: t0.Add(time.Duration(i) * time.Second), RequestID: id,
			Actor: store.BotActor, Action: store.ActionStatus, Outcome: store.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	w := &failingWriter{}
	n, err := ExportAudit(t.Context(), dir, time.Time{}, time.Time{}, w)
	if err == nil {
		t.Fatal("an export to a writer that fails succeeded")
	}
	// Records are written as they are read: the first failed write ends the export long before
	// the last record, which an export that loaded everything first would have read anyway.
	if n >= records || w.writes != 1 {
		t.Errorf("the export read %d of %d records and tried %d writes; want it stopped at the first failed write", n, records, w.writes)
	}
}
