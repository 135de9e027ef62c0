package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged matches (with errors.Is) the error Open and Check return for a
// file that is not a sound kimibot database: damaged, truncated, or some
// other kind of file.
var ErrDamaged = errors.New("database file is damaged")

// DamagedError describes a database file that cannot be used.
type DamagedError struct {
	// Path is the database file.
	Path string
	// Problem is what was found, such as bbolt's "invalid freelist page".
	Problem string
}

// Error names the file, the problem and the way out.
func (e *DamagedError) Error() string {
	return fmt.Sprintf("open database %s: the file is damaged or not a kimibot database (%s); "+
		"restore it from a backup, or move it away to start with an empty one", e.Path, e.Problem)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// maxProblems bounds how many consistency problems a DamagedError lists.
const maxProblems = 3

// guard runs fn and turns a panic, including a memory fault in the mapped
// file, into a *DamagedError. bbolt panics on some damage instead of
// returning an error.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamagedError{Path: path, Problem: strings.TrimSpace(fmt.Sprint(r))}
		}
	}()
	return fn()
}

// openBolt opens the bbolt file for writing after a read-only pass over
// it (verify), so that a damaged file is refused before bbolt loads its
// freelist, where it would panic. Failures are classified: a lock held by
// another process, a damaged file, or another error.
func openBolt(path string, opts Options) (*bolt.DB, error) {
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		ro, err := boltOpen(path, opts, true)
		if err != nil {
			return nil, err
		}
		err = verify(ro, path, true)
		if cerr := ro.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close database %s: %w", path, cerr)
		}
		if err != nil {
			return nil, err
		}
	}
	return boltOpen(path, opts, false)
}

// boltOpen calls bolt.Open under guard and classifies its error. After a
// panic the file is closed again.
func boltOpen(path string, opts Options, readOnly bool) (*bolt.DB, error) {
	var (
		db   *bolt.DB
		file *os.File
	)
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout: opts.Timeout,
			NoSync:  opts.NoSync,
			// The free-page list is not written at every commit (less to
			// write and fsync per commit, as etcd runs bbolt); bbolt finds
			// the free pages by walking the file at open instead, after
			// the damage check has walked it once.
			NoFreelistSync: true,
			ReadOnly:       readOnly,
			FreelistType:   bolt.FreelistMapType,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			},
		})
		return err
	})
	var pathErr *fs.PathError
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, ErrDamaged):
		if file != nil {
			_ = file.Close()
		}
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &lockedError{path: path, timeout: opts.Timeout}
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return nil, &DamagedError{Path: path, Problem: err.Error()}
}

// verify reads the whole database once and returns a *DamagedError for the
// first problems found. For a file not yet in use (full), it first checks
// from the file itself, without bbolt's memory map, the recorded size, the
// freelist and every page of the tree; then bbolt's consistency check runs
// safely. A database in use has passed those checks when it was opened,
// and its writers may be rewriting the meta pages, so only bbolt's check
// runs.
func verify(db *bolt.DB, path string, full bool) error {
	return guard(path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			if full {
				if err := checkFile(tx, path, db.Info().PageSize); err != nil {
					return err
				}
			}
			return checkTx(tx, path)
		})
	})
}

// checkFile checks the file under tx from the file itself.
func checkFile(tx *bolt.Tx, path string, pageSize int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("check database %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("check database %s: %w", path, err)
	}
	if tx.Size() > info.Size() {
		return &DamagedError{Path: path, Problem: fmt.Sprintf(
			"file is %d bytes, its pages need %d: truncated", info.Size(), tx.Size())}
	}
	m, err := activeMeta(f, tx, pageSize)
	if err == nil {
		err = checkFreelist(f, m)
	}
	if err == nil {
		err = checkPages(f, m)
	}
	if err != nil {
		return &DamagedError{Path: path, Problem: err.Error()}
	}
	return nil
}

// checkTx runs bbolt's consistency check and gathers its first problems.
func checkTx(tx *bolt.Tx, path string) error {
	var problems []string
	for err := range tx.Check() {
		if len(problems) < maxProblems {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &DamagedError{Path: path, Problem: strings.Join(problems, "; ")}
}

// Verify runs bbolt's consistency check over the open database and returns
// a *DamagedError when it is not sound. It runs in a read transaction, so
// the bot keeps working meanwhile.
func (s *Store) Verify(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return verify(s.db, s.path, false)
}
