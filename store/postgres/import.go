package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"revokebot/store/internal/sqlrows"

	"github.com/jackc/pgx/v5"
)

// Copied counts the rows ImportSQLite read from each table of the SQLite store, and how many of
// them were new to the database.
type Copied struct {
	Table     string
	Read, New int64
}

// importBatch is how many rows go to PostgreSQL in one round trip.
const importBatch = 500

// tableCopy is how one table of the SQLite store (at its schema version 5) is copied: the
// columns read, the statement that inserts one row unless it is there already.
type tableCopy struct {
	table, columns, insert string
	// convert, if set, turns what SQLite returned into what the insert takes.
	convert func(row []any)
}

var tableCopies = []tableCopy{
	{table: "requests", columns: requestColumns,
		insert: `INSERT INTO requests (` + requestColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO NOTHING`,
		// SQLite keeps all_access as an integer.
		convert: func(row []any) { row[7] = asInt(row[7]) != 0 }},
	{table: "items", columns: `position, ` + itemColumns + `, next_check, unchanged, updated_at`,
		insert: `INSERT INTO items (position, ` + itemColumns + `, next_check, unchanged, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (request_id, access_state_id) DO NOTHING`},
	{table: "posts", columns: postColumns,
		insert: `INSERT INTO posts (` + postColumns + `) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, key) DO NOTHING`},
	{table: "asks", columns: sqlrows.AskColumns,
		insert: `INSERT INTO asks (` + sqlrows.AskColumns + `) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (revocation_id) DO NOTHING`},
	// Audit records have no key of their own: a record is skipped when an identical one is there,
	// so running the copy again adds nothing. They are read in their order, which the database
	// numbers anew.
	{table: "audit", columns: `at, request_id, actor, action, outcome, detail`,
		insert: `INSERT INTO audit (at, request_id, actor, action, outcome, detail)
			SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text WHERE NOT EXISTS (SELECT 1 FROM audit
				WHERE at = $1::bigint AND request_id = $2::text AND actor = $3::text AND action = $4::text
				AND outcome = $5::text AND detail = $6::text)`},
}

// ImportSQLite copies every request with its items, every claimed reply and the audit trail from
// src, an SQLite store at the current schema, in one transaction. Rows the database has already
// are left as they are, so an interrupted copy can be run again.
func (s *Store) ImportSQLite(ctx context.Context, src *sql.DB) ([]Copied, error) {
	var out []Copied
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		for _, tc := range tableCopies {
			c, err := copyTable(ctx, src, tx, tc)
			if err != nil {
				return fmt.Errorf("copy %s: %w", tc.table, err)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import the SQLite store: %w", err)
	}
	return out, nil
}

func copyTable(ctx context.Context, src *sql.DB, tx pgx.Tx, tc tableCopy) (Copied, error) {
	c := Copied{Table: tc.table}
	order := "rowid"
	if tc.table == "audit" {
		order = "seq"
	}
	rows, err := src.QueryContext(ctx, `SELECT `+tc.columns+` FROM `+tc.table+` ORDER BY `+order)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return c, err
	}
	batch := &pgx.Batch{}
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		res := tx.SendBatch(ctx, batch)
		for range batch.Len() {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			c.New += tag.RowsAffected()
		}
		batch = &pgx.Batch{}
		return res.Close()
	}
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return c, err
		}
		if tc.convert != nil {
			tc.convert(row)
		}
		batch.Queue(tc.insert, row...)
		c.Read++
		if batch.Len() == importBatch {
			if err := flush(); err != nil {
				return c, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	return c, flush()
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// Empty reports whether the database holds no request and no audit record: what migrate-store
// may copy into without being told to.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var any bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests) OR EXISTS (SELECT 1 FROM audit)`).Scan(&any)
	if err != nil {
		return false, fmt.Errorf("look for rows in the database: %w", err)
	}
	return !any, nil
}
