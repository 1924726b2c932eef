package conf

// Rewriting master.cf the way "postconf -M -F -P" edits do. The file is
// copied physical line by physical line; comment and blank lines are
// always copied, also those in the middle of an entry. Per entry:
//
//   - kept entries are copied byte for byte;
//   - a deleted entry (-MX) loses its lines;
//   - a commented-out entry (-M#) gets "#" before each of its lines;
//   - a replaced entry (-Me) is written in its new form where its first
//     line was, and its continuation lines are dropped;
//   - a rewritten entry (-Fe, -Pe, -PX) is written in its new form when the
//     next entry starts or the file ends, so comment lines that followed it
//     come first.
//
// New entries are appended at the end, after the last byte of the file
// (also when the file does not end in a newline, as Postfix does).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MasterEditAction is what an edit does to one entry.
type MasterEditAction int

// The edit actions.
const (
	// EditKeep copies the entry unchanged.
	EditKeep MasterEditAction = iota
	// EditDelete drops the entry's lines.
	EditDelete
	// EditComment puts "#" before each of the entry's lines.
	EditComment
	// EditReplace writes new text where the entry started.
	EditReplace
	// EditRewrite writes new text where the entry ended.
	EditRewrite
)

// MasterEditFunc decides the fate of entry number idx whose first physical
// line names service and typ; for EditReplace and EditRewrite it also
// returns the new text (with its final newline).
type MasterEditFunc func(idx int, service, typ string) (MasterEditAction, string)

// FirstLineName returns the service and type found on the first physical
// line of entry idx, or an error in Postfix's words when that line holds
// fewer than two words.
func (mf *MasterFile) FirstLineName(idx int) (service, typ string, err error) {
	for n, l := range mf.Lines {
		if l.Kind != LineStart || l.Entry != idx {
			continue
		}
		f := strings.FieldsFunc(strings.TrimSuffix(l.Text, "\n"), func(r rune) bool { return r < 0x80 && masterBlank(byte(r)) })
		if len(f) < 2 {
			return "", "", &MasterError{Msg: fmt.Sprintf("file %s: line %d: specify service name and type on the same line", mf.Path, n+1)}
		}
		return f[0], f[1], nil
	}
	return "", "", &MasterError{Msg: "no such entry"}
}

// Edit returns the file content after applying decide to every entry and
// appending appendText.
func (mf *MasterFile) Edit(decide MasterEditFunc, appendText string) ([]byte, error) {
	var b strings.Builder
	action := EditKeep
	pending := ""
	for _, l := range mf.Lines {
		switch l.Kind {
		case LineStart:
			b.WriteString(pending)
			pending = ""
			svc, typ, err := mf.FirstLineName(l.Entry)
			if err != nil {
				return nil, err
			}
			var text string
			action, text = decide(l.Entry, svc, typ)
			switch action {
			case EditKeep:
				b.WriteString(l.Text)
			case EditComment:
				b.WriteString("#" + l.Text)
			case EditReplace:
				b.WriteString(text)
			case EditRewrite:
				pending = text
			}
		case LineCont:
			switch action {
			case EditKeep:
				b.WriteString(l.Text)
			case EditComment:
				b.WriteString("#" + l.Text)
			}
		default:
			b.WriteString(l.Text)
		}
	}
	b.WriteString(pending)
	b.WriteString(appendText)
	return []byte(b.String()), nil
}

// WriteMasterFile replaces path with data: it writes a temporary file in
// the same directory with path's permissions, syncs it and renames it into
// place, so that readers see the old or the new file, never a part.
func WriteMasterFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
