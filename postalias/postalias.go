// Package postalias is the postalias(1) and newaliases(1) commands: they
// build Postfix alias databases from aliases(5) files, query them (-q),
// list them (-s) and remove entries (-d), with the options, output,
// diagnostics and exit status of Postfix 3.7's postalias.
//
// An alias file line is "name: value, value ..."; lines that start with
// white space continue the previous one, and '#' starts a comment line.
// The name is unquoted and folded to lower case; the value is stored in
// RFC 822 external form (":include:", "|command" and "/file" are kept).
// A new database also gets the entries "@" (a completion marker),
// YP_LAST_MODIFIED and YP_MASTER_NAME (myhostname), as on a NIS system.
//
// Parameters read from main.cf: default_database_type, smtputf8_enable,
// myhostname, and for newaliases alias_database.
package postalias

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/privs"
	"github.com/postfix-go/postfix/maptypes"
	"github.com/postfix-go/postfix/postmap"
)

const usage = "usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

type options struct {
	configDir        string
	query, del       string
	hasQuery, hasDel bool
	seq, fold, inc   bool
	null0, null1     bool
	keepRoot         bool // -o: build as root even for a file root does not own
	keepPerm         bool
	dupRepl, dupIgn  bool
	utf8Off          bool
	args             []string
}

func parseArgs(args []string) options {
	o := options{fold: true, keepPerm: true}
	rest, ok := getopt.Parse(msg.ProgName(), os.Stderr, args, "Nc:d:finopq:rsuvw", func(c byte, arg string) bool {
		switch c {
		case 'N':
			o.null1, o.null0 = true, false
		case 'n':
			o.null0, o.null1 = true, false
		case 'c':
			o.configDir = arg
		case 'd':
			if o.seq || o.hasQuery || o.hasDel {
				msg.Fatal("specify only one of -s -q or -d")
			}
			o.del, o.hasDel = arg, true
		case 'f':
			o.fold = false
		case 'i':
			o.inc = true
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
			o.dupRepl, o.dupIgn = true, false
		case 's':
			if o.hasQuery || o.hasDel {
				msg.Fatal("specify only one of -s or -q or -d")
			}
			o.seq = true
		case 'u':
			o.utf8Off = true
		case 'v':
			msg.Verbose++
		case 'w':
			o.dupIgn, o.dupRepl = true, false
		}
		return true
	})
	if !ok {
		msg.Fatal(usage)
	}
	o.args = rest
	return o
}

type runner struct {
	o        options
	flags    maptypes.OpenFlags
	defType  string
	utf8     bool
	hostname string
}

// Main runs postalias with the arguments after argv[0] and returns the
// exit status.
func Main(args []string) int {
	o := parseArgs(args)
	cfg := postmap.LoadConfig(postmap.ConfigDir(o.configDir))
	if len(o.args) == 0 {
		msg.Fatal(usage)
	}
	return run(o, cfg)
}

// Newaliases rebuilds every table in alias_database, as newaliases(1)
// does; args are its command-line arguments (-C dir? is not supported;
// MAIL_CONFIG selects the configuration).
func Newaliases(args []string) int {
	cfg := postmap.LoadConfig(postmap.ConfigDir(""))
	o := options{fold: true, keepPerm: true}
	for _, a := range args {
		if a == "-v" {
			msg.Verbose++
		}
	}
	o.args = conf.SplitList(postmap.Param(cfg, "alias_database"))
	if len(o.args) == 0 {
		return 0
	}
	return run(o, cfg)
}

func run(o options, cfg *conf.Config) int {
	r := &runner{o: o, defType: postmap.Param(cfg, "default_database_type"), hostname: postmap.Param(cfg, "myhostname")}
	maptypes.Warn = func(s string) { r.warn("%s", s) }
	maptypes.TableWarn = maptypes.Warn
	r.utf8 = postmap.BoolParam(cfg, "smtputf8_enable") && !o.utf8Off
	if o.fold {
		r.flags |= maptypes.FoldFixed
	}
	if r.utf8 {
		r.flags |= maptypes.UTF8
	}
	if o.null0 {
		r.flags |= maptypes.TryNull0
	}
	if o.null1 {
		r.flags |= maptypes.TryNull1
	}
	if o.dupRepl {
		r.flags |= maptypes.DupReplace
	}
	if o.dupIgn {
		r.flags |= maptypes.DupIgnore
	}
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

func (r *runner) open(spec string, flags maptypes.OpenFlags) (maptypes.Table, string, string) {
	typ, name := maptypes.SplitSpec(spec, r.defType)
	t, err := maptypes.OpenType(typ, name, flags)
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	return t, typ, name
}

func dictName(typ, name string) string {
	if typ == "cdb" {
		return name + ".cdb"
	}
	return name
}

func (r *runner) lookup(t maptypes.Table, typ, name, key string) (string, bool) {
	v, ok, err := t.Lookup(key)
	if err != nil {
		msg.Fatal("table %s:%s: query error: %s", typ, dictName(typ, name), err.Error())
	}
	if ok && v == "" {
		// Postfix's query commands (not its tables) warn, and still
		// print the empty result.
		r.warn("table %s:%s: key %s: empty string result is not allowed", typ, dictName(typ, name), key)
		r.warn("table %s:%s should return NO RESULT in case of NOT FOUND", typ, dictName(typ, name))
	}
	return v, ok
}

func readKeys(in io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(in, 1<<16)
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			return
		}
		fn(strings.TrimSuffix(line, "\n"))
	}
}

func (r *runner) queries() int {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	if r.o.query != "-" {
		for _, spec := range r.o.args {
			t, typ, name := r.open(spec, r.flags)
			v, ok := r.lookup(t, typ, name, r.o.query)
			t.Close()
			if ok {
				fmt.Fprintf(out, "%s\n", v)
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
	readKeys(os.Stdin, func(key string) {
		for i := range maps {
			m := table(i)
			if v, ok := r.lookup(m.t, m.typ, m.name, key); ok {
				fmt.Fprintf(out, "%s:\t%s\n", key, v)
				found = true
				return
			}
		}
	})
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
	out := bufio.NewWriter(os.Stdout)
	err := s.Sequence(func(k, v string) bool {
		if k == "" {
			// A quoted empty alias name ("": ...) is stored, but Postfix
			// objects to it when it lists the table.
			msg.Warn("table %s:%s: empty lookup key value is not allowed", typ, dictName(typ, name))
		}
		fmt.Fprintf(out, "%s:\t%s\n", k, v)
		return true
	})
	out.Flush()
	if err != nil {
		msg.Fatal("table %s:%s: sequence error: %s", typ, dictName(typ, name), err)
	}
	return 0
}

func (r *runner) deletes() int {
	var keys []string
	if r.o.del == "-" {
		readKeys(os.Stdin, func(k string) { keys = append(keys, k) })
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
			ok, err := d.Delete(k)
			if err != nil {
				msg.Fatal("table %s:%s: delete error: %s", typ, dictName(typ, name), err)
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

// build creates the alias database spec from its source file (or adds
// standard input to it with -i).
func (r *runner) build(spec string) {
	typ, name := maptypes.SplitSpec(spec, r.defType)
	var src io.Reader = os.Stdin
	srcName := "/dev/stdin"
	if !r.o.inc {
		f, err := os.Open(name)
		if err != nil {
			msg.Fatal("open %s: %s", name, maptypes.ErrText(err))
		}
		defer f.Close()
		src, srcName = f, name
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
	if r.o.inc {
		flags |= maptypes.Incremental
	}
	b, err := maptypes.Create(typ, name, flags)
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	add := func(key, value string, exact bool) {
		var dup bool
		var err error
		if ea, ok := b.(maptypes.ExactAdder); ok && exact {
			dup, err = ea.AddExact(key, value)
		} else {
			dup, err = b.Add(key, value)
		}
		if err != nil {
			b.Abort()
			msg.Fatal("table %s:%s: write error: %s", typ, name, err.Error())
		}
		if dup && !r.o.dupRepl && !r.o.dupIgn {
			if !exact && r.o.fold {
				key = maptypes.Fold(key, r.utf8)
			}
			r.warn("%s: duplicate entry: \"%s\"", b.Label(), key)
		}
	}
	lr := maptypes.NewLineReader(src, srcName, func(s string) { r.warn("%s", s) })
	for {
		line, n, ok := lr.Next()
		if !ok {
			break
		}
		if r.utf8 && !utf8.ValidString(line) {
			r.warn("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line", srcName, n, maptypes.Printable(line))
			continue
		}
		key, value, problem := ParseEntry(line)
		if problem != "" {
			r.warn("%s, line %d: %s", srcName, n, problem)
			continue
		}
		add(key, value, false)
	}
	if !r.o.inc {
		add("@", "@", false)
		add("YP_LAST_MODIFIED", strconv.FormatInt(time.Now().Unix(), 10), true)
		add("YP_MASTER_NAME", r.hostname, true)
	}
	if err := b.Commit(); err != nil {
		msg.Fatal("%s", err.Error())
	}
}

// warn prints a warning sanitized as Postfix's logging does.
func (r *runner) warn(format string, args ...any) {
	msg.Warn("%s", maptypes.PrintableText(fmt.Sprintf(format, args...), r.utf8))
}
