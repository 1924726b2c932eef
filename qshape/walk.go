package qshape

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// walker visits every queue file under the queues, as Perl's File::Find
// does for Postfix's script: symbolic links are not followed, and a
// directory that cannot be entered or read gets File::Find's warning.
type walker struct {
	prog   string
	stderr io.Writer
	// visit is called with each file that looks like a finished queue
	// file, and its modification time.
	visit func(f *os.File, mtime int64)
}

// warn prints a File::Find warning: the text, then the script line that
// called find.
func (w *walker) warn(format string, args ...any) {
	fmt.Fprintf(w.stderr, format+"\n at %s line %d.\n", append(args, w.prog, lineFind)...)
}

// top walks one queue named name (as given on the command line) at path.
func (w *walker) top(name, path string) {
	st, err := os.Lstat(path)
	// File::Find drops one trailing slash after its lstat.
	if name != "/" {
		name = strings.TrimSuffix(name, "/")
	}
	if err != nil {
		w.warn("Can't stat %s: %s", name, strerror(err))
		return
	}
	if st.IsDir() {
		if syscall.Access(path, 1) != nil { // search permission
			w.warn("Can't cd to %s: %s", name, strerror(syscall.EACCES))
			return
		}
		w.dir(name, path)
		return
	}
	w.file(filepath.Dir(path), filepath.Base(path))
}

// dir visits the files of a directory, then its subdirectories.
func (w *walker) dir(name, path string) {
	f, err := os.Open(path)
	if err != nil {
		w.warn("Can't opendir(%s): %s", name, strerror(err))
		return
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil && len(entries) == 0 {
		w.warn("Can't opendir(%s): %s", name, strerror(err))
		return
	}
	var subdirs []string
	for _, ent := range entries {
		if ent.Type()&fs.ModeType == fs.ModeDir {
			subdirs = append(subdirs, ent.Name())
			continue
		}
		w.file(path, ent.Name())
	}
	prefix := name + "/"
	if name == "/" {
		prefix = "/"
	}
	for _, sub := range subdirs {
		p := filepath.Join(path, sub)
		if syscall.Access(p, 1) != nil {
			w.warn("Can't cd to (%s/) %s: %s", strings.TrimSuffix(name, "/"), sub, strerror(syscall.EACCES))
			continue
		}
		w.dir(prefix+sub, p)
	}
}

// file visits dir/base when its name and mode are a finished queue
// file's: six or more letters and digits, a regular file whose owner may
// read, write and execute it and that nobody else may write or execute.
func (w *walker) file(dir, base string) {
	if !queueFileName(base) {
		return
	}
	path := filepath.Join(dir, base)
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0733 != 0700 {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	w.visit(f, st.ModTime().Unix())
}

// queueFileName reports whether name is six or more ASCII letters and
// digits (a final newline aside, which Perl's "$" lets through).
func queueFileName(name string) bool {
	name = strings.TrimSuffix(name, "\n")
	if len(name) < 6 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
