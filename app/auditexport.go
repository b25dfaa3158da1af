package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"revokebot/store"
	"revokebot/store/sqlite"
)

// auditLine is one audit record as revokebot audit-export writes it: one JSON object a line, the
// shape a SIEM ingests. Keep its fields stable: collectors parse them.
type auditLine struct {
	At        time.Time `json:"at"`
	RequestID string    `json:"request_id"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail"`
}

// ExportAudit writes the audit records of the store under dataDir made at or after since and
// before until (a zero until has no end) to w, one JSON object a line, oldest first, and returns
// how many it wrote. It writes each record as it reads it, so years of records never sit in
// memory, and, like Backup, it is safe while the bot runs on the same store.
func ExportAudit(ctx context.Context, dataDir string, since, until time.Time, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := sqlite.ExportAudit(ctx, dataDir, since, until, func(a store.AuditRecord) error {
		n++
		return enc.Encode(auditLine{At: a.At, RequestID: a.RequestID.String(), Actor: a.Actor,
			Action: string(a.Action), Outcome: string(a.Outcome), Detail: a.Detail})
	})
	if err != nil {
		return n, fmt.Errorf("export the audit trail: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export the audit trail: %w", err)
	}
	return n, nil
}
