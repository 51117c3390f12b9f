package sqlstore

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL every statement costs the single writer a round trip, and
// the busiest writes — messages and receipts — are one statement each when
// they succeed. The writer sends a run of them from one batch in one round
// trip (a pgx pipeline on its own connection, inside the batch's
// transaction). PostgreSQL runs them in order, so each answers as it would
// alone. An op whose statement did not do its whole job (a resend, a
// closed conversation, a receipt that moves nothing) then runs op.fn as
// usual, which finds out why.

// pipelined is a write the PostgreSQL writer can send with others.
type pipelined interface {
	// queue adds the op's statement to the pipeline.
	queue(tx *writeTx, b *pgx.Batch)
	// read takes the statement's result; done reports that the op's job
	// is done (if not, op.fn runs after the round trip).
	read(r pgx.BatchResults) (done bool, err error)
	// finish completes a done op after the round trip: its events.
	finish(tx *writeTx) error
}

// runPipelined sends ops' statements in one round trip and marks the ops
// it completed (op.piped).
func (db *DB) runPipelined(tx *writeTx, ops []*writeOp) error {
	b := &pgx.Batch{}
	for _, op := range ops {
		op.pipe.queue(tx, b)
	}
	err := tx.conn.Raw(func(driverConn any) error {
		results := driverConn.(*stdlib.Conn).Conn().SendBatch(tx.ctx, b)
		for _, op := range ops {
			done, err := op.pipe.read(results)
			if err != nil {
				results.Close()
				return err
			}
			op.piped = done
		}
		return results.Close()
	})
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	for _, op := range ops {
		if op.piped {
			tx.op = op
			if err := op.pipe.finish(tx); err != nil {
				return err
			}
		}
	}
	return nil
}
