package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
)

// Backups of the embedded shape (docs/operations.md): one archive with
// everything a data dir needs to run again elsewhere — a consistent
// snapshot of the SQLite database, taken while the server runs, the
// attachments' files, and the installation's secret, without which
// visitors' tokens and the sealed second factors and SSO secrets do not
// open. A cluster's PostgreSQL is backed up with its own tools.

// backupManifest opens every archive: what wrote it and what it holds.
type backupManifest struct {
	Format      int       `json:"format"`
	Version     string    `json:"parley_version"`
	CreatedAt   time.Time `json:"created_at"`
	Attachments int       `json:"attachments"`
	Secret      bool      `json:"secret"`
}

const (
	backupFormat       = 1
	backupDatabase     = "parley.db"
	backupSecret       = "secret.key"
	backupFiles        = "attachments"
	backupManifestName = "manifest.json"
)

// fileName is an account's or an attachment's name in the blob dir: IDs,
// nothing that climbs out of it.
var fileName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]*$`)

func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("parley backup", flag.ContinueOnError)
	fset.SetOutput(stderr)
	sf := addStoreFlags(fset)
	out := fset.String("out", "", "the archive to write (.tar.gz; - for standard output); it must not exist")
	if err := parse(fset, args, getenv); err != nil {
		return err
	}
	if *sf.databaseURL != "" {
		return errors.New("a PostgreSQL installation is backed up with pg_dump (attachments are in its database); parley backup is for the data dir's SQLite")
	}
	if *out == "" {
		return errors.New("--out is required: the archive to write, or - for standard output")
	}
	dir := *sf.data
	tmp, err := os.MkdirTemp(scratchDirFor(*out), ".parley-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	snapshot := filepath.Join(tmp, backupDatabase)
	started := time.Now()
	if err := sqlstore.Snapshot(ctx, filepath.Join(dir, backupDatabase), snapshot); err != nil {
		return err
	}
	// The files after the snapshot: a file is written before the row that
	// names it, so every attachment the snapshot knows is on disk by now.
	var files []string
	blobs := filepath.Join(dir, backupFiles)
	err = filepath.WalkDir(blobs, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == blobs {
			return fs.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(blobs, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(filepath.Join(dir, backupSecret))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	manifest := backupManifest{Format: backupFormat, Version: parley.Version, CreatedAt: started.UTC(), Attachments: len(files), Secret: secret != nil}

	var w io.Writer = stdout
	var partial string
	if *out != "-" {
		if _, err := os.Stat(*out); err == nil {
			return fmt.Errorf("%s exists already: choose another name", *out)
		}
		partial = *out + ".partial"
		f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer os.Remove(partial) // gone once renamed
		defer f.Close()
		w = f
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mj, _ := json.MarshalIndent(manifest, "", "  ")
	if err := addBytes(tw, backupManifestName, append(mj, '\n')); err != nil {
		return err
	}
	if err := addFile(tw, backupDatabase, snapshot); err != nil {
		return err
	}
	if secret != nil {
		if err := addBytes(tw, backupSecret, secret); err != nil {
			return err
		}
	}
	for _, rel := range files {
		err := addFile(tw, backupFiles+"/"+filepath.ToSlash(rel), filepath.Join(blobs, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue // erased since the walk: its row is going too
		}
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	size := int64(0)
	if partial != "" {
		f := w.(*os.File)
		if err := f.Sync(); err != nil {
			return err
		}
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(partial, *out); err != nil {
			return err
		}
	}
	report := stdout
	if *out == "-" {
		report = stderr
	}
	dbInfo, _ := os.Stat(snapshot)
	fmt.Fprintf(report, "backed up %s to %s in %s: database %s, %d attachments, ", dir, orStdout(*out), time.Since(started).Round(time.Millisecond), mib(dbInfo.Size()), len(files))
	if secret != nil {
		fmt.Fprintf(report, "the secret")
	} else {
		fmt.Fprintf(report, "no secret (it is set with --secret or PARLEY_SECRET: keep it with the backup)")
	}
	if size > 0 {
		fmt.Fprintf(report, "; %s compressed", mib(size))
	}
	fmt.Fprintln(report)
	return nil
}

func cmdRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, stdin io.Reader) error {
	fset := flag.NewFlagSet("parley restore", flag.ContinueOnError)
	fset.SetOutput(stderr)
	data := fset.String("data", "parley-data", "the data directory to restore into: new, or empty")
	from := fset.String("from", "", "the archive parley backup wrote (- for standard input)")
	if err := parse(fset, args, getenv); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from is required: the archive parley backup wrote, or - for standard input")
	}
	if entries, err := os.ReadDir(*data); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: restore into a new directory, and point --data at it", *data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var r io.Reader = stdin
	if *from != "-" {
		f, err := os.Open(*from)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	m, err := extractBackup(r, *data)
	if err == nil {
		err = sqlstore.Check(ctx, filepath.Join(*data, backupDatabase))
	}
	var accounts []*parley.Account
	if err == nil {
		// Opening applies the migrations of this version to an older backup.
		store, oerr := openStore(ctx, storeFlags{data: data, databaseURL: new(string)})
		if err = oerr; err == nil {
			accounts, err = store.ListAccounts(ctx)
			store.Close()
		}
	}
	if err != nil {
		// Nothing half restored stays behind to be served.
		entries, _ := os.ReadDir(*data)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(*data, e.Name()))
		}
		return fmt.Errorf("restore from %s: %w", orStdin(*from), err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: the backup of %s (parley %s), %d accounts, %d attachments",
		orStdin(*from), *data, m.CreatedAt.Format(time.RFC3339), m.Version, len(accounts), m.Attachments)
	if !m.Secret {
		fmt.Fprintf(stdout, "; the backup holds no secret: start parley with the --secret it ran with")
	}
	fmt.Fprintln(stdout)
	return nil
}

// extractBackup writes the archive's files into dir, refusing any entry
// that is not one a backup holds.
func extractBackup(r io.Reader, dir string) (*backupManifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a parley backup (gzip): %w", err)
	}
	tr := tar.NewReader(zr)
	var m *backupManifest
	sawDB := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the archive cannot be read: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("the archive holds %q, which is not a file", h.Name)
		}
		switch {
		case h.Name == backupManifestName:
			m = &backupManifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 1<<16)).Decode(m); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			if m.Format != backupFormat {
				return nil, fmt.Errorf("backup format %d; this parley reads %d", m.Format, backupFormat)
			}
			continue
		case h.Name == backupDatabase:
			sawDB = true
		case h.Name == backupSecret:
		case strings.HasPrefix(h.Name, backupFiles+"/"):
			parts := strings.Split(strings.TrimPrefix(h.Name, backupFiles+"/"), "/")
			if len(parts) != 2 || !fileName.MatchString(parts[0]) || !fileName.MatchString(parts[1]) {
				return nil, fmt.Errorf("the archive holds %q, which is not an attachment's name", h.Name)
			}
		default:
			return nil, fmt.Errorf("the archive holds %q, which a parley backup does not", h.Name)
		}
		if m == nil {
			return nil, errors.New("not a parley backup: manifest.json does not come first")
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	if m == nil || !sawDB {
		return nil, errors.New("not a parley backup: no manifest.json or no parley.db")
	}
	return m, nil
}

func addBytes(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// scratchDirFor is where the snapshot is made before it is archived:
// beside the archive (the same file system, which has room for it), or
// the temporary directory when the archive goes to standard output.
func scratchDirFor(out string) string {
	if out == "-" {
		return os.TempDir()
	}
	return filepath.Dir(filepath.Clean(out))
}

func orStdout(path string) string {
	if path == "-" {
		return "standard output"
	}
	return path
}

func orStdin(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}
