package sqlstore

import (
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"
)

// The writer's connection opens its database through walVFS, a thin layer
// over SQLite's default VFS that gathers the writes to the WAL file and
// hands them on together. SQLite writes each WAL frame as two writes (its
// 24-byte header, then the page), so a commit of 50 messages, about 190
// frames, cost 380 pwrite(2) calls: 17 % of the server's CPU under
// `parley bench --scenario max` (docs/performance.md, session 31). Here
// the frames collect in a buffer and reach the file in writes of up to
// 64 KiB: one for a commit of a few messages, a dozen for one of 50.
//
// Durability is unchanged: SQLite syncs the WAL before it publishes a
// commit to readers, when synchronous is FULL (the writer's setting: see
// Open), and the buffer is written before every sync. It is also written
// before anything that looks at the file — a read, its size, a truncation,
// a file control, closing it — and whenever a write does not continue or
// overwrite what it holds, so the file SQLite sees is always the file it
// wrote. Every other file (the database, temporary files) is the default
// VFS's own, untouched. A failed write of the buffer fails the sync (or
// the read…) that caused it; SQLite then rolls the transaction back, as
// it would for a failed write.

// walVFSName is the name the VFS is registered under (the DSN's vfs=).
const walVFSName = "parley-wal"

// walBufferSize bounds the writes held back: a commit larger than this
// reaches the file in several writes.
const walBufferSize = 1 << 20

// walWriteChunk is the most the buffer passes on in one write: SQLite's
// unix VFS writes fewer than 128 KiB a call (seekAndWriteFd masks the
// length with 0x1ffff) and reports a longer write as a full disk.
const walWriteChunk = 64 << 10

// walFile is an open WAL file: SQLite's sqlite3_file (its methods table
// first), the default VFS's file for the same path just after it in the
// same allocation, and the writes not yet passed on.
type walFile struct {
	base   lib.Tsqlite3_file
	real   uintptr // the default VFS's sqlite3_file
	buf    uintptr // walBufferSize bytes of C memory, or 0 until the first write
	bufOff int64   // the file offset of buf's first byte
	bufLen int64   // bytes held
}

var walFileSize = (int32(unsafe.Sizeof(walFile{})) + 7) &^ 7

var (
	walVFSOnce sync.Once
	walVFSErr  error
	// SQLite keeps pointers to these for the life of the process.
	walVFS      lib.Tsqlite3_vfs
	walVFSNameC = []byte(walVFSName + "\x00")
	walMethods  lib.Tsqlite3_io_methods
	defaultVFS  uintptr // the default VFS (unix on Linux)
)

// registerWALVFS registers walVFS, once per process.
func registerWALVFS() error {
	walVFSOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		defaultVFS = lib.Xsqlite3_vfs_find(tls, 0)
		if defaultVFS == 0 {
			walVFSErr = fmt.Errorf("sqlite: no default VFS")
			return
		}
		walVFS = *(*lib.Tsqlite3_vfs)(at(defaultVFS))
		walVFS.FszOsFile += walFileSize
		walVFS.FzName = uintptr(unsafe.Pointer(&walVFSNameC[0]))
		walVFS.FpNext = 0
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walVFS.FxOpen)) = walOpen
		initWALMethods()
		if rc := lib.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&walVFS)), 0); rc != lib.SQLITE_OK {
			walVFSErr = fmt.Errorf("sqlite: register the WAL VFS: code %d", rc)
		}
	})
	return walVFSErr
}

// callOpen calls a C xOpen held as a uintptr (as the methods below call
// theirs).
func callOpen(fp uintptr, tls *libc.TLS, vfs, name, file uintptr, flags int32, outFlags uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fp)))(tls, vfs, name, file, flags, outFlags)
}

func methodsOf(file uintptr) *lib.Tsqlite3_io_methods {
	return (*lib.Tsqlite3_io_methods)(at((*lib.Tsqlite3_file)(at(file)).FpMethods))
}

// walOpen opens every file with the default VFS; a WAL file is wrapped.
func walOpen(tls *libc.TLS, vfs, name, file uintptr, flags int32, outFlags uintptr) int32 {
	def := (*lib.Tsqlite3_vfs)(at(defaultVFS))
	if flags&lib.SQLITE_OPEN_WAL == 0 || name == 0 {
		// The default VFS's file fits in the space SQLite allocated (it is
		// larger by walFileSize) and carries its own methods.
		return callOpen(def.FxOpen, tls, defaultVFS, name, file, flags, outFlags)
	}
	w := (*walFile)(at(file))
	*w = walFile{real: file + uintptr(walFileSize)}
	rc := callOpen(def.FxOpen, tls, defaultVFS, name, w.real, flags, outFlags)
	if rc != lib.SQLITE_OK {
		return rc // pMethods stays 0: SQLite will not close it
	}
	w.base.FpMethods = uintptr(unsafe.Pointer(&walMethods))
	return lib.SQLITE_OK
}

// initWALMethods fills walMethods: each calls the wrapped file's own
// method (the default VFS may give files different ones), the buffer
// written first where it matters.
func initWALMethods() {
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxClose)) = walClose
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walMethods.FxRead)) = walRead
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walMethods.FxWrite)) = walWrite
	*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&walMethods.FxTruncate)) = walTruncate
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxSync)) = walSync
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&walMethods.FxFileSize)) = walFileSizeOf
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxLock)) = walLock
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxUnlock)) = walUnlock
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&walMethods.FxCheckReservedLock)) = walCheckReservedLock
	*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walMethods.FxFileControl)) = walFileControl
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxSectorSize)) = walSectorSize
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxDeviceCharacteristics)) = walDeviceCharacteristics
	// A WAL file has no shared memory and is never memory-mapped (both
	// belong to the database file): version 1, without those methods.
	walMethods.FiVersion = 1
}

// at is the address p holds. Every uintptr here is C memory (SQLite's,
// from modernc.org/libc's allocator), which the Go collector neither
// moves nor frees.
func at(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func walOf(file uintptr) *walFile { return (*walFile)(at(file)) }

// flush writes the held bytes to the file. On failure they are dropped:
// the error fails the operation that needed them, and SQLite rewrites
// whatever it still wants.
func (w *walFile) flush(tls *libc.TLS) int32 {
	if w.bufLen == 0 {
		return lib.SQLITE_OK
	}
	n, off := w.bufLen, w.bufOff
	w.bufLen = 0
	for done := int64(0); done < n; done += walWriteChunk {
		if rc := w.writeThrough(tls, w.buf+uintptr(done), int32(min(walWriteChunk, n-done)), off+done); rc != lib.SQLITE_OK {
			return rc
		}
	}
	return lib.SQLITE_OK
}

// writeThrough writes to the file itself, with the default VFS's xWrite.
func (w *walFile) writeThrough(tls *libc.TLS, data uintptr, amt int32, off int64) int32 {
	fp := methodsOf(w.real).FxWrite
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp)))(tls, w.real, data, amt, off)
}

func walWrite(tls *libc.TLS, file, data uintptr, amt int32, off int64) int32 {
	w := walOf(file)
	n := int64(amt)
	if w.bufLen > 0 && off >= w.bufOff && off <= w.bufOff+w.bufLen && off+n <= w.bufOff+walBufferSize {
		// Continues or overwrites what is held.
		copy(unsafe.Slice((*byte)(at(w.buf+uintptr(off-w.bufOff))), n), unsafe.Slice((*byte)(at(data)), n))
		w.bufLen = max(w.bufLen, off-w.bufOff+n)
		return lib.SQLITE_OK
	}
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	if n > walWriteChunk {
		return w.writeThrough(tls, data, amt, off)
	}
	if w.buf == 0 {
		if w.buf = libc.Xmalloc(tls, walBufferSize); w.buf == 0 {
			return lib.SQLITE_NOMEM
		}
	}
	copy(unsafe.Slice((*byte)(at(w.buf)), n), unsafe.Slice((*byte)(at(data)), n))
	w.bufOff, w.bufLen = off, n
	return lib.SQLITE_OK
}

func walClose(tls *libc.TLS, file uintptr) int32 {
	w := walOf(file)
	rc := w.flush(tls)
	if w.buf != 0 {
		libc.Xfree(tls, w.buf)
		w.buf = 0
	}
	fp := methodsOf(w.real).FxClose
	if rc2 := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real); rc == lib.SQLITE_OK {
		rc = rc2
	}
	return rc
}

func walRead(tls *libc.TLS, file, data uintptr, amt int32, off int64) int32 {
	w := walOf(file)
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	fp := methodsOf(w.real).FxRead
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp)))(tls, w.real, data, amt, off)
}

func walTruncate(tls *libc.TLS, file uintptr, size int64) int32 {
	w := walOf(file)
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	fp := methodsOf(w.real).FxTruncate
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&fp)))(tls, w.real, size)
}

func walSync(tls *libc.TLS, file uintptr, flags int32) int32 {
	w := walOf(file)
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	fp := methodsOf(w.real).FxSync
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, w.real, flags)
}

func walFileSizeOf(tls *libc.TLS, file, size uintptr) int32 {
	w := walOf(file)
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	fp := methodsOf(w.real).FxFileSize
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real, size)
}

func walFileControl(tls *libc.TLS, file uintptr, op int32, arg uintptr) int32 {
	w := walOf(file)
	if rc := w.flush(tls); rc != lib.SQLITE_OK {
		return rc
	}
	fp := methodsOf(w.real).FxFileControl
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real, op, arg)
}

func walLock(tls *libc.TLS, file uintptr, level int32) int32 {
	w := walOf(file)
	fp := methodsOf(w.real).FxLock
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, w.real, level)
}

func walUnlock(tls *libc.TLS, file uintptr, level int32) int32 {
	w := walOf(file)
	fp := methodsOf(w.real).FxUnlock
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, w.real, level)
}

func walCheckReservedLock(tls *libc.TLS, file, out uintptr) int32 {
	w := walOf(file)
	fp := methodsOf(w.real).FxCheckReservedLock
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real, out)
}

func walSectorSize(tls *libc.TLS, file uintptr) int32 {
	w := walOf(file)
	fp := methodsOf(w.real).FxSectorSize
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real)
}

func walDeviceCharacteristics(tls *libc.TLS, file uintptr) int32 {
	w := walOf(file)
	fp := methodsOf(w.real).FxDeviceCharacteristics
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, w.real)
}
