package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// On SQLite the writer runs the message path's statements — the message,
// the conversation's new seq, the event — on the driver's connection
// itself, with statements prepared there once, rather than through
// database/sql. database/sql converts and copies every argument into a
// fresh slice, takes its locks and builds a result for each execution:
// under parley bench's max that was an eighth of the bytes the server
// allocated and about 3 % of its CPU, on the writer, the one goroutine
// every message waits for (docs/performance.md, session 33). The
// statements still run inside the batch's transaction: it is the same
// connection.

// A driverQuery is a statement of the message path run on the driver.
type driverQuery int

const (
	qInsertMessage driverQuery = iota
	qSetConvSeq
	qInsertEvent
	driverQueries
)

// driverSQL is each driverQuery's text.
var driverSQL = [driverQueries]string{
	// A taken client ID inserts nothing (a retry); AppendMessage then finds the original.
	qInsertMessage: `INSERT INTO messages (` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, client_id) WHERE client_id <> '' DO NOTHING`,
	qSetConvSeq:    `UPDATE conversations SET last_seq = ?, updated_at = ? WHERE rowid = ?`,
	qInsertEvent:   insertEventSQL,
}

// driverStmts are the driverQueries prepared on one driver connection;
// the writer goroutine alone uses them.
type driverStmts struct {
	conn  any // the driver connection they belong to
	stmts [driverQueries]driver.StmtExecContext
	args  []driver.NamedValue // reused by every execution
}

// on returns the statement for q on the driver connection dc, preparing
// every statement again if database/sql has replaced the connection.
func (d *driverStmts) on(ctx context.Context, dc any, q driverQuery) (driver.StmtExecContext, error) {
	if d.conn != dc {
		// The statements of a connection database/sql dropped are left
		// to it: finalizing them after it closed would use freed memory.
		d.stmts = [driverQueries]driver.StmtExecContext{}
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return nil, fmt.Errorf("driver connection %T cannot prepare", dc)
		}
		for i, query := range driverSQL {
			st, err := prep.PrepareContext(ctx, query)
			if err != nil {
				d.close()
				return nil, fmt.Errorf("prepare: %w", err)
			}
			exec, ok := st.(driver.StmtExecContext)
			if !ok {
				st.Close()
				d.close()
				return nil, fmt.Errorf("driver statement %T cannot execute", st)
			}
			d.stmts[i] = exec
		}
		d.conn = dc
	}
	return d.stmts[q], nil
}

// close finalizes the statements (before their connection closes: SQLite
// keeps a connection with statements open alive as a zombie).
func (d *driverStmts) close() {
	for i, st := range d.stmts {
		if st != nil {
			st.(driver.Stmt).Close()
			d.stmts[i] = nil
		}
	}
	d.conn = nil
}

// closeOn finalizes the statements on the pool's connection, which holds
// them.
func (d *driverStmts) closeOn(p pool) {
	if d.conn == nil {
		return
	}
	conn, err := p.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		if dc == d.conn {
			d.close()
		}
		return nil
	})
}

// exec runs q with args in the transaction and returns how many rows it
// changed. args are driver values: int64, string, []byte or nil.
func (tx *writeTx) exec(q driverQuery, args ...driver.Value) (int64, error) {
	var n int64
	err := tx.conn.Raw(func(dc any) error {
		st, err := tx.db.driverStmts.on(tx.ctx, dc, q)
		if err != nil {
			return err
		}
		named := tx.db.driverStmts.args[:0]
		for i, a := range args {
			named = append(named, driver.NamedValue{Ordinal: i + 1, Value: a})
		}
		tx.db.driverStmts.args = named
		res, err := st.ExecContext(tx.ctx, named)
		clear(named) // hold no strings past the call
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
