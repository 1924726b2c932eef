// Package postmap is the postmap(1) command: it builds Postfix lookup
// tables from source files, queries them (-q), lists them (-s) and removes
// entries (-d), with the options, output, diagnostics and exit status of
// Postfix 3.7's postmap.
//
// Parameters read from main.cf (in -c DIR, $MAIL_CONFIG or /etc/postfix):
// default_database_type (the type of a table named without "type:"),
// smtputf8_enable (UTF-8 checks and Unicode case folding of keys).
//
// Options: -b, -h and -m (header/body queries with "-q -"), -c dir,
// -d key, -f (no case folding), -F (base64 values), -i (incremental, from
// standard input), -n and -N (null termination), -o, -p (mode 0644),
// -q key, -r (replace duplicates), -s (list), -u and -U (UTF-8 checks),
// -v (verbose), -w (ignore duplicates).
package postmap

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/privs"
	"github.com/postfix-go/postfix/maptypes"
)

const usage = "usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

// options are the parsed command-line options.
type options struct {
	configDir           string
	query, del          string
	hasQuery, hasDel    bool
	seq                 bool
	body, header, mime  bool
	fold, base64        bool
	incremental         bool
	null0, null1        bool
	keepRoot            bool // -o: build as root even for a file root does not own
	keepPerm            bool
	dupReplace, dupIgn  bool
	utf8Off, utf8Forced bool
	args                []string
}

func parseArgs(args []string) options {
	o := options{fold: true, keepPerm: true}
	rest, ok := getopt.Parse(msg.ProgName(), os.Stderr, args, "bc:d:fFhimnNopq:rsuUvw", func(c byte, arg string) bool {
		switch c {
		case 'b':
			o.body = true
		case 'c':
			o.configDir = arg
		case 'd':
			if o.seq || o.hasQuery || o.hasDel {
				msg.Fatal("specify only one of -s -q or -d")
			}
			o.del, o.hasDel = arg, true
		case 'f':
			o.fold = false
		case 'F':
			o.base64 = true
		case 'h':
			o.header = true
		case 'i':
			o.incremental = true
		case 'm':
			o.mime = true
		case 'n':
			o.null0, o.null1 = true, false
		case 'N':
			o.null1, o.null0 = true, false
		case 'o':
			o.keepRoot = true
		case 'p':
			o.keepPerm = false
		case 'q':
			if o.seq || o.hasQuery || o.hasDel {
				msg.Fatal("specify only one of -s -q or -d")
			}
			o.query, o.hasQuery = arg, true
		case 'r':
			o.dupReplace, o.dupIgn = true, false
		case 's':
			if o.hasQuery || o.hasDel {
				msg.Fatal("specify only one of -s or -q or -d")
			}
			o.seq = true
		case 'u':
			o.utf8Off = true
		case 'U':
			o.utf8Forced = true
		case 'v':
			msg.Verbose++
		case 'w':
			o.dupIgn, o.dupReplace = true, false
		}
		return true
	})
	if !ok {
		msg.Fatal(usage)
	}
	o.args = rest
	return o
}

// Main runs postmap with the arguments after argv[0] and returns the exit
// status; fatal errors exit through msg.Fatal.
func Main(args []string) int {
	o := parseArgs(args)
	cfg := LoadConfig(ConfigDir(o.configDir))
	defType := Param(cfg, "default_database_type")
	utf8 := BoolParam(cfg, "smtputf8_enable") && !o.utf8Off
	if (o.body || o.header) && !o.utf8Forced {
		utf8 = false
	}
	flags := maptypes.OpenFlags(0)
	if o.fold {
		flags |= maptypes.FoldFixed
	}
	if utf8 {
		flags |= maptypes.UTF8
	}
	if o.null0 {
		flags |= maptypes.TryNull0
	}
	if o.null1 {
		flags |= maptypes.TryNull1
	}
	if o.dupReplace {
		flags |= maptypes.DupReplace
	}
	if o.dupIgn {
		flags |= maptypes.DupIgnore
	}
	if (o.body || o.header || o.mime) && (!o.hasQuery || o.query != "-") {
		msg.Fatal("specify -b -h or -m only with \"-q -\"")
	}
	if o.mime && !o.body && !o.header {
		msg.Warn("ignoring -m option without -b or -h")
	}
	if len(o.args) == 0 {
		msg.Fatal(usage)
	}
	r := &runner{o: o, flags: flags, defType: defType, utf8: utf8}
	maptypes.Warn = func(s string) { r.warn("%s", s) }
	maptypes.TableWarn = maptypes.Warn
	switch {
	case o.hasDel:
		return r.deletes()
	case o.hasQuery:
		return r.queries()
	case o.seq:
		return r.sequence()
	}
	for _, spec := range o.args {
		r.build(spec)
	}
	return 0
}

// runner carries the settings of one postmap run.
type runner struct {
	o       options
	flags   maptypes.OpenFlags
	defType string
	utf8    bool
}

// open opens one table for queries, deletions or listing; failure is fatal.
func (r *runner) open(spec string, flags maptypes.OpenFlags) (maptypes.Table, string, string) {
	typ, name := maptypes.SplitSpec(spec, r.defType)
	t, err := maptypes.OpenType(typ, name, flags)
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	return t, typ, name
}

// dictName is the table name in Postfix's "table TYPE:NAME" messages.
func dictName(typ, name string) string {
	if typ == "cdb" {
		return name + ".cdb"
	}
	return name
}

// fileName is the table name in Postfix's UTF-8 warnings: the database
// file for file-based types.
func fileName(typ, name string) string {
	switch typ {
	case "hash", "btree":
		return name + ".db"
	case "cdb":
		return name + ".cdb"
	case "lmdb":
		return name + ".lmdb"
	}
	return name
}

func (r *runner) decode(v string) string {
	if !r.o.base64 {
		return v
	}
	d, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		msg.Fatal("malformed BASE64 value: %.30s", v)
	}
	return string(d)
}

func (r *runner) lookup(t maptypes.Table, typ, name, key string) (string, bool) {
	if r.utf8 && !utf8.ValidString(key) {
		r.warn("%s:%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint", typ, fileName(typ, name), maptypes.Printable(key))
		return "", false
	}
	v, ok, err := t.Lookup(key)
	if err != nil {
		msg.Fatal("table %s:%s: query error: %s", typ, dictName(typ, name), errorText(err))
	}
	if ok && v == "" {
		// Postfix's query commands (not its tables) warn, and still
		// print the empty result.
		r.warn("table %s:%s: key %s: empty string result is not allowed", typ, dictName(typ, name), key)
		r.warn("table %s:%s should return NO RESULT in case of NOT FOUND", typ, dictName(typ, name))
	}
	return v, ok
}

func errorText(err error) string {
	var ae interface{ Application() string }
	if errors.As(err, &ae) {
		return ae.Application()
	}
	return err.Error()
}

func (r *runner) queries() int {
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	if r.o.query != "-" {
		for _, spec := range r.o.args {
			t, typ, name := r.open(spec, r.flags)
			v, ok := r.lookup(t, typ, name, r.o.query)
			t.Close()
			if ok {
				fmt.Fprintf(out, "%s\n", r.decode(v))
				return 0
			}
		}
		return 1
	}
	// As in Postfix, a table is opened when the first key needs it: one
	// that no key reaches is never read (nor are its warnings printed).
	type opened struct {
		t         maptypes.Table
		typ, name string
	}
	maps := make([]opened, len(r.o.args))
	table := func(i int) opened {
		if maps[i].t == nil {
			t, typ, name := r.open(r.o.args[i], r.flags)
			maps[i] = opened{t, typ, name}
		}
		return maps[i]
	}
	found := false
	query := func(key string) {
		for i := range maps {
			m := table(i)
			if v, ok := r.lookup(m.t, m.typ, m.name, key); ok {
				out.WriteString(key)
				out.WriteByte('\t')
				out.WriteString(r.decode(v))
				out.WriteByte('\n')
				found = true
				break
			}
		}
	}
	if r.o.body || r.o.header {
		r.messageKeys(os.Stdin, query)
	} else {
		in := bufio.NewReaderSize(os.Stdin, 1<<16)
		for {
			line, err := in.ReadString('\n')
			if line == "" && err != nil {
				break
			}
			query(strings.TrimSuffix(line, "\n"))
		}
	}
	for _, m := range maps {
		if m.t != nil {
			m.t.Close()
		}
	}
	if found {
		return 0
	}
	return 1
}

func (r *runner) sequence() int {
	t, typ, name := r.open(r.o.args[0], r.flags)
	defer t.Close()
	s, ok := t.(maptypes.Sequencer)
	if !ok {
		msg.Fatal("table %s:%s: sequence operation is not supported", typ, dictName(typ, name))
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	err := s.Sequence(func(k, v string) bool {
		fmt.Fprintf(out, "%s\t%s\n", k, r.decode(v))
		return true
	})
	out.Flush()
	if err != nil {
		if errors.Is(err, maptypes.ErrNotSupported) {
			msg.Fatal("table %s:%s: sequence operation is not supported", typ, dictName(typ, name))
		}
		msg.Fatal("table %s:%s: sequence error: %s", typ, dictName(typ, name), errorText(err))
	}
	return 0
}

func (r *runner) deletes() int {
	var keys []string
	if r.o.del == "-" {
		in := bufio.NewReader(os.Stdin)
		for {
			line, err := in.ReadString('\n')
			if line == "" && err != nil {
				break
			}
			keys = append(keys, strings.TrimSuffix(line, "\n"))
		}
	} else {
		keys = []string{r.o.del}
	}
	found := false
	for _, spec := range r.o.args {
		t, typ, name := r.open(spec, r.flags|maptypes.Write)
		d, ok := t.(maptypes.Deleter)
		if !ok {
			t.Close()
			msg.Fatal("table %s:%s: delete operation is not supported", typ, dictName(typ, name))
		}
		for _, k := range keys {
			if r.utf8 && !utf8.ValidString(k) {
				r.warn("%s:%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint", typ, fileName(typ, name), k)
				continue
			}
			ok, err := d.Delete(k)
			if err != nil {
				msg.Fatal("table %s:%s: delete error: %s", typ, dictName(typ, name), errorText(err))
			}
			found = found || ok
		}
		if err := t.Close(); err != nil {
			msg.Fatal("table %s:%s: %s", typ, dictName(typ, name), err)
		}
	}
	if found {
		return 0
	}
	return 1
}

// build creates the table spec from its source file (or from standard
// input with -i).
func (r *runner) build(spec string) {
	typ, name := maptypes.SplitSpec(spec, r.defType)
	var src io.Reader
	srcName := name
	if r.o.incremental {
		src = os.Stdin
		srcName = "/dev/stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			msg.Fatal("open %s: %s", name, maptypes.ErrText(err))
		}
		defer f.Close()
		src = f
		st, err := f.Stat()
		if err == nil && r.o.keepPerm {
			maptypes.NewFileMode = 0o600 | st.Mode().Perm()&0o044
		} else {
			maptypes.NewFileMode = 0o644
		}
		if err == nil && !r.o.keepRoot {
			if err := privs.DropToOwner(st); err != nil {
				msg.Fatal("%v", err)
			}
		}
	}
	flags := r.flags
	if r.o.incremental {
		flags |= maptypes.Incremental
	}
	b, err := maptypes.Create(typ, name, flags)
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	err = maptypes.ReadSource(src, srcName, r.utf8, func(s string) { r.warn("%s", s) }, func(e maptypes.Entry) error {
		value := e.Value
		if r.o.base64 {
			value = r.encodeFiles(srcName, e.Line, value)
		}
		dup, err := b.Add(e.Key, value)
		if err != nil {
			b.Abort()
			msg.Fatal("table %s:%s: write error: %s", typ, name, errorText(err))
		}
		if dup && !r.o.dupReplace && !r.o.dupIgn {
			r.warn("%s: duplicate entry: \"%s\"", b.Label(), r.dupKey(e.Key))
		}
		return nil
	})
	if err != nil {
		b.Abort()
		msg.Fatal("%s: %s", srcName, err)
	}
	if err := b.Commit(); err != nil {
		msg.Fatal("%s", err.Error())
	}
}

// encodeFiles implements -F while building: the value names files whose
// contents, joined by newlines, are stored base64-encoded.
func (r *runner) encodeFiles(src string, line int, value string) string {
	var buf []byte
	for i, f := range strings.FieldsFunc(value, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		data, err := os.ReadFile(f)
		if err != nil {
			msg.Fatal("%s, line %d: open %s: %s", src, line, f, maptypes.ErrText(err))
		}
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, data...)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// warn prints a warning sanitized as Postfix's logging does.
func (r *runner) warn(format string, args ...any) {
	msg.Warn("%s", maptypes.PrintableText(fmt.Sprintf(format, args...), r.utf8))
}

// dupKey is a key as Postfix shows it in a duplicate-entry warning.
func (r *runner) dupKey(key string) string {
	if r.o.fold {
		return maptypes.Fold(key, r.utf8)
	}
	return key
}
