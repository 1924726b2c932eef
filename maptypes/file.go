package maptypes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// errText returns the C library's text for err ("No such file or
// directory"), as Postfix's %m prints it.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return string(s[0]-'a'+'A') + s[1:]
		}
	}
	return err.Error()
}

// ErrText is errText for other packages: the strerror text of err.
func ErrText(err error) string { return errText(err) }

// fileID identifies one version of a file.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

func idOf(st fs.FileInfo) fileID {
	id := fileID{size: st.Size(), mtime: st.ModTime()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(s.Dev), s.Ino
	}
	return id
}

// changedSince reports whether path is no longer the file seen as id:
// replaced (rename), modified or removed.
func changedSince(path string, id fileID) bool {
	st, err := os.Stat(path)
	if err != nil {
		return true
	}
	return idOf(st) != id
}

// NewFileMode is the mode of table files that did not exist before; the
// owner's umask applies. postmap sets it from the source file's mode.
var NewFileMode fs.FileMode = 0o644

// createTemp creates a temporary file in the directory of path, with the
// mode of the existing path (or NewFileMode).
func createTemp(path string) (*os.File, error) {
	mode := NewFileMode
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	um := syscall.Umask(0)
	syscall.Umask(um)
	if err := f.Chmod(mode &^ fs.FileMode(um)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// finishTemp syncs and closes tmp and renames it over path atomically.
func finishTemp(tmp *os.File, path string) error {
	name := tmp.Name()
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
