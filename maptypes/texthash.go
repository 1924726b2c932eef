package maptypes

import (
	"fmt"
	"os"
	"strings"
)

// texthash: a postmap(1) source file read into memory at open time, so
// that no postmap run is needed.

func init() {
	Register("texthash", openTexthash)
	registerFixed("texthash")
}

// TableWarn receives warnings of tables that read source files at open
// time (texthash); commands point it at msg.Warn.
var TableWarn = func(text string) {}

func openTexthash(name string, flags OpenFlags) (Table, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", name, errText(err))
	}
	defer f.Close()
	t := newMemTable(flags)
	t.path = name
	if st, err := f.Stat(); err == nil {
		t.stat = idOf(st)
	}
	warn := func(s string) {
		// texthash words this one warning differently from postmap.
		if strings.HasSuffix(s, "expected format: key whitespace value") {
			s += " -- ignoring this line"
		}
		TableWarn(s)
	}
	err = ReadSource(f, name, flags&UTF8 != 0, warn, func(e Entry) error {
		if t.put(e.Key, e.Value) && flags&(DupIgnore|DupReplace) == 0 {
			TableWarn(fmt.Sprintf("%s, line %d: duplicate entry: \"%s\"", name, e.Line, fixedFold(e.Key, flags)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
