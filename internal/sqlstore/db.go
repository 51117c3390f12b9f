// Package sqlstore is the Store in SQL, on SQLite (the embedded shape: one
// file in WAL mode) or on PostgreSQL (the cluster shape). Either way it is
// read through a pool of connections and written by one goroutine per
// process that commits waiting writes together (group commit), so
// throughput is not one fsync per message. With SQLite another goroutine
// copies the WAL back into the database file (checkpoints) beside the
// writer; with PostgreSQL, row locks order the writers of several nodes.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/parleychat/parley"
	msqlite "modernc.org/sqlite" // the "sqlite" driver
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Options tune a DB. The zero value works.
type Options struct {
	// Bus receives every committed event, in commit order. Nil drops them.
	Bus parley.Bus
	// MaxBatch caps how many writes share one transaction (default 256).
	MaxBatch int
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// Now replaces the clock in tests.
	Now func() time.Time
	// BlobDir holds attachment files (default: "attachments" beside the database file).
	BlobDir string
	// OnCommit, if set, is called by the writer after each commit with the
	// number of writes the transaction carried, how long its COMMIT took
	// (writing the WAL and the fsync), and how long the whole batch held
	// the writer (its statements, the commit, publishing its events): the
	// metrics behind group commit. The batches' times added up over a
	// second say how busy the one writer is; near a second, writes queue
	// for it.
	OnCommit func(writes int, commit, batch time.Duration)
}

// DB is a parley.Store backed by one SQLite file.
type DB struct {
	write    pool
	read     pool
	ckpt     *sql.DB // SQLite: the checkpointer's connection
	postgres bool

	committed chan struct{} // the writer committed (capacity 1: a flag)
	ckptStop  chan struct{} // closed by Close
	ckptDone  chan struct{} // the checkpointer has stopped
	bus       parley.Bus
	now       func() time.Time
	onCommit  func(writes int, commit, batch time.Duration)

	blobDir  string
	ops      chan *writeOp
	maxBatch int
	stmts    writeStmts

	// appending caches, for the writer goroutine alone, what the message
	// path needs of the conversations it wrote to (see appendCache).
	appending appendCache
	// driverStmts are the message path's statements on the writer's
	// driver connection, on SQLite (driverstmt.go).
	driverStmts driverStmts
	// eventSeqs is, on SQLite, each account's last committed event seq,
	// for the writer alone: a transaction starts from it instead of
	// asking the events (a query per batch: 3 % of the server's CPU under
	// parley bench's steady, where most batches hold one write). Only this
	// process writes the file; should anything else add events, the
	// insert that collides fails its batch, which empties the map, and the
	// batch's second run asks the events again.
	eventSeqs map[string]int64

	mu      sync.RWMutex // guards closed against sends on ops
	closed  bool
	stopped chan struct{}
}

var _ parley.Store = (*DB)(nil)

// defaults fills the options left zero; readConns is the dialect's read pool.
func (o *Options) defaults(readConns int) {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.ReadConns <= 0 {
		o.ReadConns = readConns
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	opt.defaults(4)
	// Commit with fdatasync(2), as SQLite's own Linux builds do: the data
	// and the file's size reach the disk as with fsync, without forcing the
	// file's timestamps through the file system's journal at every commit
	// (docs/performance.md item 15). Process-wide; unavailable on macOS and
	// Windows, where SQLite keeps its own sync.
	msqlite.Fdatasync(true)
	pragmas := []string{
		"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)",
		// FULL: a commit that returned survives power loss, not only a crash;
		// acknowledgements promise exactly that. Group commit pays for it.
		"synchronous(FULL)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// The writer keeps a larger page cache (8 MB; SQLite's default is 2) and
	// lets the WAL grow to 8,000 pages (32 MB) before checkpointing: fewer
	// checkpoints inside commits. Not larger: a commit whose inserts split a
	// b-tree page parks a page at the lock-byte page's number on the way,
	// and the commit then walks the whole cache to drop it — 7.6 % of the
	// server's CPU under parley bench's steady with 32 MB (session 29).
	// Measured with BenchmarkAppendBatched and parley bench
	// (docs/performance.md).
	wq := url.Values{}
	for k, v := range q {
		wq[k] = append([]string(nil), v...)
	}
	wq.Add("_pragma", "cache_size(-8000)")
	// Checkpoints run on a connection of their own (checkpointer), off the
	// writer's path; the writer checkpoints itself only past this bound,
	// which also lets the WAL start over (a checkpoint racing the writer
	// rarely catches up with it), and then has little left to copy.
	wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walBound))
	// The writer's WAL writes reach the file together, at the commit's
	// sync (walvfs.go); that needs synchronous FULL, set above.
	if err := registerWALVFS(); err != nil {
		return nil, err
	}
	wq.Set("vfs", walVFSName)
	write, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	q.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(opt.ReadConns)
	read.SetMaxIdleConns(opt.ReadConns)
	// The checkpointer's connection syncs like the writer's (synchronous
	// FULL): a checkpoint must have the database file on disk before the
	// WAL it copied from may start over.
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": pragmas}.Encode())
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	if opt.BlobDir == "" {
		opt.BlobDir = filepath.Join(filepath.Dir(path), "attachments")
	}
	db, err := start(ctx, pool{DB: write}, pool{DB: read}, ckpt, opt)
	if err != nil {
		return nil, err
	}
	go db.checkpointer()
	return db, nil
}

// OpenPostgres opens the PostgreSQL database at url (postgres://…) and
// applies pending migrations. Attachments are kept in the database, so
// that every node serves them.
func OpenPostgres(ctx context.Context, url string, opt Options) (*DB, error) {
	opt.defaults(8)
	open := func(conns int) (*sql.DB, error) {
		d, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		d.SetMaxOpenConns(conns)
		d.SetMaxIdleConns(conns)
		return d, nil
	}
	// One writer per node, as on SQLite. (Several, tried in session 7,
	// deadlock on row locks taken in different orders by different ops.)
	write, err := open(1)
	if err != nil {
		return nil, err
	}
	read, err := open(opt.ReadConns)
	if err != nil {
		write.Close()
		return nil, err
	}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %w", redactURL(url), err)
	}
	return start(ctx, pool{DB: write, postgres: true}, pool{DB: read, postgres: true}, nil, opt)
}

// start migrates the database, prepares the write path and starts the writer.
func start(ctx context.Context, write, read pool, ckpt *sql.DB, opt Options) (*DB, error) {
	db := &DB{
		write: write, read: read, ckpt: ckpt, postgres: write.postgres, bus: opt.Bus, now: opt.Now, blobDir: opt.BlobDir, onCommit: opt.OnCommit,
		ops: make(chan *writeOp, 4096), maxBatch: opt.MaxBatch,
		stopped: make(chan struct{}), committed: make(chan struct{}, 1), ckptStop: make(chan struct{}), ckptDone: make(chan struct{}),
	}
	closeAll := func() {
		db.write.Close()
		db.read.Close()
		if db.ckpt != nil {
			db.ckpt.Close()
		}
	}
	if err := db.migrate(ctx); err != nil {
		closeAll()
		return nil, err
	}
	if err := db.stmts.prepare(ctx, db.write); err != nil {
		closeAll()
		return nil, err
	}
	go db.writer()
	return db, nil
}

// redactURL drops the password from a database URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unreadable URL)"
	}
	return u.Redacted()
}

// Migrate applies pending migrations to the database at path and closes it.
func Migrate(ctx context.Context, path string) (applied []string, err error) {
	db, err := Open(ctx, path, Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.AppliedMigrations(ctx)
}

// migrationLock is the PostgreSQL advisory lock that nodes starting at
// once take in turn to migrate ("parley" in ASCII).
const migrationLock = 0x7061726c6579

func (db *DB) migrate(ctx context.Context) error {
	if db.postgres {
		// The write pool's one connection holds the lock (a session lock).
		if _, err := db.write.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrationLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer db.write.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrationLock)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	dir := "migrations/sqlite"
	if db.postgres {
		dir = "migrations/postgres"
	}
	names, err := fs.Glob(migrationFiles, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateOne(ctx, name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

// migrateOne applies one migration file and records it, in one transaction.
func (db *DB) migrateOne(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	// Recorded as migrations/NAME, as before the files were kept per dialect.
	recorded := "migrations/" + path.Base(name)
	if err := tx.QueryRowContext(ctx, db.write.sql(`SELECT count(*) FROM schema_migrations WHERE name = ?`), recorded).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFiles.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.write.sql(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), recorded, db.now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// AppliedMigrations names the migrations the database has had, in order.
func (db *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Ping reports whether both pools can reach the file.
func (db *DB) Ping(ctx context.Context) error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return parley.Errorf(parley.EUNAVAILABLE, "store is closed")
	}
	return db.read.PingContext(ctx)
}

// Close finishes every write already accepted, then closes the file.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.ops)
	db.mu.Unlock()
	<-db.stopped
	close(db.ckptStop)
	if db.ckpt != nil {
		<-db.ckptDone
	}
	db.stmts.close()
	db.driverStmts.closeOn(db.write)
	var ckptErr error
	if db.ckpt != nil {
		ckptErr = db.ckpt.Close()
	}
	return errors.Join(ckptErr, db.write.Close(), db.read.Close())
}

// walBound is the WAL size (pages) past which the writer checkpoints
// itself; below it the checkpointer keeps the WAL copied back.
const walBound = 16000

// checkpointInterval spaces the checkpointer's passes.
const checkpointInterval = 200 * time.Millisecond

// checkpointer copies committed pages from the WAL back into the database
// file (a passive checkpoint: it never blocks the writer or readers) at
// most every checkpointInterval while there are commits, so that commits
// do not do it and the messages behind them do not wait for it.
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	pace := time.NewTimer(checkpointInterval)
	for {
		select {
		case <-db.committed:
		case <-db.ckptStop:
			return
		}
		// An error leaves the work to the writer's own bound (walBound).
		db.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		pace.Reset(checkpointInterval)
		select {
		case <-pace.C: // commits meanwhile are copied by the next pass
		case <-db.ckptStop:
			return
		}
	}
}

// writeOp is one unit of work for the writer goroutine. fn runs inside the
// batch's transaction, under its own savepoint so that its failure undoes
// only its own changes.
type writeOp struct {
	ctx    context.Context
	fn     func(*writeTx) error
	done   chan error
	events []*parley.Event
	// besideAppends marks an op that may run among a batch's appends as
	// one of them: an append, or a receipt. It changes no column the
	// append cache holds (on SQLite the cache stays) and reads nothing of
	// the event log (on PostgreSQL its events are written with the
	// appends', at the next flush). Any other op empties the cache and
	// flushes the events first.
	besideAppends bool
	// apart marks an op that writes neither conversations nor messages,
	// only tables of its own (the metrics rollup's, webhook deliveries'):
	// the append cache stays across it. Such ops run every second or so
	// (webhook claims), and emptying the cache each time meant that at a
	// message a second per conversation no append ever found its
	// conversation cached.
	apart bool
	// pipe, on PostgreSQL, sends the op's statement with its neighbours'
	// in one round trip (pipeline.go); piped: that did the op's whole job
	// in this attempt, and op.fn does not run.
	pipe  pipelined
	piped bool
}

// writeTx is the transaction handed to a writeOp.
type writeTx struct {
	*sql.Tx
	conn *sql.Conn // the transaction's connection
	ctx  context.Context
	db   *DB
	op   *writeOp
	now  time.Time

	// eventSeqs holds each account's last event seq given out in this
	// transaction, read once per transaction from the events themselves.
	eventSeqs map[string]int64
	bound     map[*sql.Stmt]*sql.Stmt // prepared statements bound to this transaction
	// unwritten are the events of the appends since the last flush, on
	// PostgreSQL: written together by flushEvents (one statement, where one
	// per event would cost a round trip each).
	unwritten []*parley.Event
}

// stmt returns a prepared statement bound to this transaction.
func (tx *writeTx) stmt(s *sql.Stmt) *sql.Stmt {
	if st, ok := tx.bound[s]; ok {
		return st
	}
	st := tx.StmtContext(tx.ctx, s)
	tx.bound[s] = st
	return st
}

// lastEventSeq is the account's last event seq, counting the events this
// transaction already wrote.
func (tx *writeTx) lastEventSeq(accountID string) (int64, error) {
	if seq, ok := tx.eventSeqs[accountID]; ok {
		return seq, nil
	}
	if seq, ok := tx.db.eventSeqs[accountID]; ok && !tx.db.postgres {
		tx.eventSeqs[accountID] = seq
		return seq, nil
	}
	var seq int64
	if err := tx.stmt(tx.db.stmts.eventSeq).QueryRowContext(tx.ctx, accountID).Scan(&seq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, parley.Errorf(parley.ENOTFOUND, "account %q not found", accountID)
		}
		return 0, fmt.Errorf("event seq: %w", err)
	}
	tx.eventSeqs[accountID] = seq
	return seq, nil
}

// event appends an event of the account, taking the account's next cursor.
func (tx *writeTx) event(accountID, typ, conversationID string, data any) error {
	return tx.eventSeq(accountID, typ, conversationID, 0, data)
}

// eventSeq is event for a message.created event, which also carries the
// message's seq.
func (tx *writeTx) eventSeq(accountID, typ, conversationID string, messageSeq int64, data any) error {
	var raw []byte
	var err error
	if r, ok := data.(json.RawMessage); ok {
		raw = r
	} else {
		raw, err = json.Marshal(data)
	}
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	e := &parley.Event{
		AccountID: accountID, Type: typ, ConversationID: conversationID,
		MessageSeq: messageSeq, Data: raw, CreatedAt: tx.now,
	}
	tx.op.events = append(tx.op.events, e)
	if tx.db.postgres && tx.op.besideAppends {
		// Numbered and written with the batch's others just before the
		// commit: the account's row is locked only from then on, so
		// another node's writer waits for it as briefly as possible.
		tx.unwritten = append(tx.unwritten, e)
		return nil
	}
	seq, err := tx.lastEventSeq(accountID)
	if err != nil {
		return err
	}
	e.Seq = seq + 1
	if tx.db.postgres {
		_, err = tx.stmt(tx.db.stmts.insertEvent).ExecContext(tx.ctx, accountID, e.Seq, typ, conversationID, messageSeq, string(raw), tx.now.UnixMicro())
	} else {
		// raw is not changed after this (e.Data shares it): bound without a copy.
		_, err = tx.exec(qInsertEvent, accountID, e.Seq, typ, conversationID, messageSeq, unsafe.String(unsafe.SliceData(raw), len(raw)), tx.now.UnixMicro())
	}
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	tx.eventSeqs[accountID] = e.Seq
	return nil
}

// flushEvents numbers and writes the events the appends left unwritten
// (PostgreSQL), in one statement. It runs before any op other than an
// append, which might read the event log, and before the commit.
func (tx *writeTx) flushEvents() error {
	if len(tx.unwritten) == 0 {
		return nil
	}
	for _, e := range tx.unwritten {
		seq, err := tx.lastEventSeq(e.AccountID) // locks the account's row to the commit
		if err != nil {
			return err
		}
		e.Seq = seq + 1
		tx.eventSeqs[e.AccountID] = e.Seq
	}
	n := len(tx.unwritten)
	accounts, types, convs, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, msgSeqs, created := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, e := range tx.unwritten {
		accounts[i], seqs[i], types[i], convs[i] = e.AccountID, e.Seq, e.Type, e.ConversationID
		msgSeqs[i], data[i], created[i] = e.MessageSeq, string(e.Data), e.CreatedAt.UnixMicro()
	}
	if _, err := tx.stmt(tx.db.stmts.insertEvents).ExecContext(tx.ctx, accounts, seqs, types, convs, msgSeqs, data, created); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	tx.unwritten = tx.unwritten[:0]
	return nil
}

// do queues fn for the writer and waits until its batch has committed (or
// failed). Once do returns nil, fn's changes are durable.
func (db *DB) do(ctx context.Context, fn func(*writeTx) error) error {
	return db.queue(ctx, &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// doApart is do for an op that writes neither conversations nor messages
// (writeOp.apart).
func (db *DB) doApart(ctx context.Context, fn func(*writeTx) error) error {
	return db.queue(ctx, &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1), apart: true})
}

// queue hands op to the writer and waits for its outcome (see do).
func (db *DB) queue(ctx context.Context, op *writeOp) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return parley.Errorf(parley.EUNAVAILABLE, "store is closed")
	}
	select {
	case db.ops <- op:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	// Wait for the outcome even if ctx ends now: the op may already be in a
	// transaction, and the caller must not report a write as failed that
	// then commits without anyone knowing. Writes are bounded in time.
	return <-op.done
}

// writer runs batches until the ops channel is closed and drained.
func (db *DB) writer() {
	defer close(db.stopped)
	batch := make([]*writeOp, 0, db.maxBatch)
	for op := range db.ops {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < db.maxBatch {
			select {
			case next, ok := <-db.ops:
				if !ok {
					break fill
				}
				batch = append(batch, next)
			default:
				break fill
			}
		}
		db.runBatch(batch)
	}
}

// runBatch runs every op of the batch in one transaction and commits once.
// It first runs the ops bare; only if one fails does it run the batch again
// with a savepoint around each op, so that one failure undoes only its own
// changes. Failures are rare, and savepoints cost two statements per op.
func (db *DB) runBatch(batch []*writeOp) {
	results, err := db.tryBatch(batch, false)
	if errors.Is(err, errOpFailed) {
		results, err = db.tryBatch(batch, true)
	}
	// On PostgreSQL, a deadlock with another node's writer can fail the
	// batch outside any op: run it again.
	for attempt := 1; attempt < 3 && isRetryable(err); attempt++ {
		results, err = db.tryBatch(batch, true)
	}
	if err != nil {
		for _, op := range batch {
			op.done <- err
		}
		return
	}
	for i, op := range batch {
		op.done <- results[i]
	}
}

// publish hands the committed batch's events to the bus, right after the
// commit: in commit order.
func (db *DB) publish(batch []*writeOp, results []error) {
	var events []*parley.Event
	for i, op := range batch {
		if results[i] == nil {
			events = append(events, op.events...)
		}
	}
	// Publish before answering: a client that gets its ack and then
	// subscribes must find the event either in the store or on the bus.
	if db.bus != nil && len(events) > 0 {
		db.bus.Publish(context.Background(), events)
	}
}

// errOpFailed means an op failed in a batch run without savepoints; the
// transaction was rolled back and the batch must run again with them.
var errOpFailed = errors.New("an op failed")

// tryBatch runs the batch in one transaction and commits it.
func (db *DB) tryBatch(batch []*writeOp, savepoints bool) (_ []error, err error) {
	ctx := context.Background()
	start := time.Now()
	results := make([]error, len(batch))
	defer func() {
		if err != nil {
			clear(db.eventSeqs) // whatever failed, the next run asks the events
		}
	}()
	// The writer's connection itself: on PostgreSQL runPipelined speaks
	// pgx's pipeline on it, on SQLite exec runs the message path's
	// statements on it, inside the transaction.
	var conn *sql.Conn
	var tx *sql.Tx
	if db.postgres {
		// A connection PostgreSQL ended (a restart, a failover) is
		// replaced: nothing was sent on it yet.
		for attempt := 1; ; attempt++ {
			if conn, err = db.write.Conn(ctx); err != nil {
				return nil, fmt.Errorf("begin: %w", err)
			}
			if tx, err = conn.BeginTx(ctx, nil); !lostConnection(err) || attempt == 3 {
				break
			}
			conn.Close()
		}
		defer conn.Close()
	} else {
		if conn, err = db.write.Conn(ctx); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		defer conn.Close()
		tx, err = conn.BeginTx(ctx, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	// Stored times have microsecond precision; answer with what is stored.
	now := db.now().UTC().Truncate(time.Microsecond)
	wtx := &writeTx{Tx: tx, conn: conn, ctx: ctx, db: db, now: now, eventSeqs: make(map[string]int64), bound: make(map[*sql.Stmt]*sql.Stmt)}
	for _, op := range batch {
		op.events, op.piped = nil, false
	}
	together := 0 // the batch's ops before it were sent together
	for i, op := range batch {
		if op.piped {
			continue // done with the ones before it (runPipelined)
		}
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if db.postgres && !savepoints && op.pipe != nil && i >= together {
			run := i + 1
			for run < len(batch) && batch[run].pipe != nil && batch[run].ctx.Err() == nil {
				run++
			}
			together = run
			if err := db.runPipelined(wtx, batch[i:run]); err != nil {
				tx.Rollback()
				if isRetryable(err) {
					return nil, err
				}
				return nil, errOpFailed // run again, one by one
			}
			if op.piped {
				continue
			}
		}
		wtx.op = op
		if !op.besideAppends {
			if !op.apart {
				db.appending.clear()
			}
			if err := wtx.flushEvents(); err != nil {
				tx.Rollback()
				return nil, err
			}
		}
		if savepoints {
			results[i] = db.runOp(wtx, op)
		} else if err := op.fn(wtx); err != nil {
			tx.Rollback()
			db.appending.clear()
			return nil, errOpFailed
		}
		if !op.besideAppends && !op.apart {
			db.appending.clear() // it may have appended, then changed the conversation
		}
	}
	if err := wtx.flushEvents(); err != nil {
		tx.Rollback()
		db.appending.clear()
		return nil, err
	}
	if db.postgres {
		for account, seq := range wtx.eventSeqs {
			if _, err := wtx.stmt(db.stmts.setEventSeq).ExecContext(ctx, seq, account); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("event seq: %w", err)
			}
		}
	}
	commitStart := time.Now()
	if err := tx.Commit(); err != nil {
		db.appending.clear()
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed := time.Since(commitStart)
	if !db.postgres {
		if db.eventSeqs == nil {
			db.eventSeqs = make(map[string]int64)
		}
		maps.Copy(db.eventSeqs, wtx.eventSeqs)
	}
	db.publish(batch, results)
	if db.onCommit != nil {
		db.onCommit(len(batch), committed, time.Since(start))
	}
	select {
	case db.committed <- struct{}{}:
	default:
	}
	return results, nil
}

func (db *DB) runOp(tx *writeTx, op *writeOp) error {
	for attempt := 1; ; attempt++ {
		err := db.runOpOnce(tx, op)
		// PostgreSQL broke a deadlock with another node's writer by
		// failing this op's statement: its changes are undone, and it
		// may simply run again (the other transaction goes on).
		if err == nil || !isRetryable(err) || attempt == 3 {
			return err
		}
	}
}

func (db *DB) runOpOnce(tx *writeTx, op *writeOp) error {
	if _, err := tx.ExecContext(tx.ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	seqs, unwritten := maps.Clone(tx.eventSeqs), len(tx.unwritten)
	if err := op.fn(tx); err != nil {
		op.events = nil
		tx.eventSeqs = seqs // the op's events are undone with it
		tx.unwritten = tx.unwritten[:unwritten]
		tx.db.appending.clear()
		if _, rbErr := tx.ExecContext(tx.ctx, "ROLLBACK TO op"); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rbErr))
		}
		tx.ExecContext(tx.ctx, "RELEASE op")
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, "RELEASE op"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// insertEventSQL writes one event.
const insertEventSQL = `INSERT INTO events (account_id, seq, type, conversation_id, message_seq, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// writeStmts are the statements of the message path, prepared once on the
// writer's connection.
type writeStmts struct {
	eventSeq        *sql.Stmt
	insertEvent     *sql.Stmt // PostgreSQL (SQLite: driverstmt.go)
	insertEvents    *sql.Stmt // PostgreSQL: many at once
	setEventSeq     *sql.Stmt // PostgreSQL: the account's counter
	appendMessage   *sql.Stmt // PostgreSQL: seq and message in one statement
	convForAppend   *sql.Stmt
	messageByClient *sql.Stmt
	convToAppend    *sql.Stmt
}

func (s *writeStmts) prepare(ctx context.Context, db pool) error {
	var err error
	p := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, query)
		return st
	}
	if db.postgres {
		// The account's counter, locked to the commit: the writers of
		// several nodes take an account's event seqs one transaction at a
		// time, and commit them in seq order. (Not max(seq) of the events,
		// as on SQLite: a statement that waited for the lock would compute
		// it from the rows it saw before.) The writer stores the counter
		// back before each commit.
		s.eventSeq = p(`SELECT event_seq FROM accounts WHERE id = ? FOR UPDATE`)
		s.setEventSeq = p(`UPDATE accounts SET event_seq = ? WHERE id = ?`)
	} else {
		// An account's last event seq is its last event's (events are
		// never deleted, only scrubbed), so no counter row is written per
		// commit: one page fewer in every commit's WAL write.
		// accounts.event_seq, the counter kept before session 5, is a
		// floor for databases written then.
		s.eventSeq = p(`SELECT max(event_seq, coalesce((SELECT max(seq) FROM events WHERE account_id = accounts.id), 0)) FROM accounts WHERE id = ?`)
	}
	if db.postgres { // on SQLite: driverstmt.go
		s.insertEvent = p(insertEventSQL)
		s.insertEvents = p(`INSERT INTO events (account_id, seq, type, conversation_id, message_seq, data, created_at)
			SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::bigint[])`)
		s.appendMessage = p(appendMessageSQL)
	} else {
		// The message itself, its seq and its event: driverstmt.go.
		// The conversation an append goes into, if it is open and (for a visitor) theirs.
		s.convToAppend = p(`SELECT last_seq, rowid, consumer_id FROM conversations WHERE account_id = ? AND id = ? AND state <> 'closed' AND (? = '' OR consumer_id = ?)`)
	}
	s.convForAppend = p(`SELECT state, consumer_id FROM conversations WHERE account_id = ? AND id = ?`)
	s.messageByClient = p(`SELECT ` + messageColumns + ` FROM messages WHERE conversation_id = ? AND client_id = ? AND client_id <> '' AND account_id = ? AND sender_kind = ? AND sender_id = ?`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

func (s *writeStmts) close() {
	for _, st := range []*sql.Stmt{s.eventSeq, s.setEventSeq, s.insertEvent, s.insertEvents, s.appendMessage, s.convForAppend, s.messageByClient, s.convToAppend} {
		if st != nil {
			st.Close()
		}
	}
}

// queryIn runs query (ending in "IN ") with the account's ID and a list of
// IDs bound, in chunks within SQLite's limit on bound parameters, and
// hands each row to scan.
func (db *DB) queryIn(ctx context.Context, query, accountID string, ids []string, scan func(*sql.Rows) error) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, accountID)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := db.read.QueryContext(ctx, query+"(?"+strings.Repeat(",?", len(chunk)-1)+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err = scan(rows); err != nil {
				break
			}
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Helpers for the column encodings shared by every table.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Errorf(parley.ENOTFOUND, format, args...)
	}
	return err
}

// appendCache remembers, for conversations the writer appended to, their
// row, owner and last seq, so the next append updates the row by rowid
// instead of finding and checking it again (docs/performance.md, item 11).
// Only the writer goroutine uses it. An entry is right because nothing
// else changes a conversation between two appends without emptying the
// cache first: every op other than an append empties it before and after
// it runs (tryBatch), and so does every rollback. An entry therefore also
// means "open". The exceptions: a receipt (besideAppends) writes a column
// the cache does not hold, and ops marked apart (the metrics rollup's
// saves, webhook deliveries' claims and attempts) write no conversation.
type appendCache struct {
	convs map[string]*appendConv
}

type appendConv struct {
	rowid      int64
	accountID  string
	consumerID string
	lastSeq    int64
}

// appendCacheSize bounds the cache; past it, it starts again empty.
const appendCacheSize = 10000

func (c *appendCache) get(conversationID string) *appendConv { return c.convs[conversationID] }

func (c *appendCache) put(conversationID string, conv *appendConv) {
	if c.convs == nil || len(c.convs) >= appendCacheSize {
		c.convs = make(map[string]*appendConv)
	}
	c.convs[conversationID] = conv
}

func (c *appendCache) forget(conversationID string) { delete(c.convs, conversationID) }

func (c *appendCache) clear() {
	if len(c.convs) > 0 {
		clear(c.convs)
	}
}
