package rewrite

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var recordGolden = flag.Bool("record", false, "record testdata/*.out from Debian's trivial-rewrite")

// goldenCase is testdata/NAME.cf (main.cf additions; "@ETC@" is the
// configuration directory, tables come from testdata/tables/) and
// testdata/NAME.in (one request per line: "rewrite RULE ADDR",
// "resolve SENDER ADDR" or "verify SENDER ADDR", with "<>" for an empty
// field). testdata/NAME.out holds the replies of Debian's trivial-rewrite
// (recorded with -record), so this test runs without root or Postfix;
// testdata/NAME.warn holds the warnings we log for the same requests.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.in")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	tables := map[string]string{}
	tfiles, _ := filepath.Glob("testdata/tables/*")
	for _, f := range tfiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tables[filepath.Base(f)] = string(b)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			cf, err := os.ReadFile(filepath.Join("testdata", name+".cf"))
			if err != nil {
				t.Fatal(err)
			}
			reqs, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s := newSysDir(t, string(cf), tables)
			var cl *Client
			var warns *warnLog
			if *recordGolden {
				sock := startReference(t, s)
				cl, _ = rawClient(t, sock)
			} else {
				var sock string
				sock, warns = startOurs(t, s)
				cl, _ = rawClient(t, sock)
			}
			var out strings.Builder
			for _, line := range strings.Split(strings.TrimSpace(string(reqs)), "\n") {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				f := strings.SplitN(line, " ", 3)
				for len(f) < 3 {
					f = append(f, "")
				}
				for i := range f {
					if f[i] == "<>" {
						f[i] = ""
					}
				}
				fmt.Fprintf(&out, "%s\n", line)
				switch f[0] {
				case "rewrite":
					r, err := cl.RewriteExternal(f[1], f[2])
					fmt.Fprintf(&out, "  -> %q%s\n", r, errSuffix(err))
				case "resolve", "verify":
					fn := cl.Resolve
					if f[0] == "verify" {
						fn = cl.Verify
					}
					r, err := fn(f[1], f[2])
					fmt.Fprintf(&out, "  -> transport=%q nexthop=%q recipient=%q flags=%s%s\n",
						r.Transport, r.Nexthop, r.Recipient, flagNames(r.Flags), errSuffix(err))
				default:
					t.Fatalf("bad request line %q", line)
				}
			}
			outPath := filepath.Join("testdata", name+".out")
			if *recordGolden {
				if err := os.WriteFile(outPath, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("replies differ from %s (recorded from Postfix):\n%s", outPath, firstDiff(string(want), got))
			}
			warnPath := filepath.Join("testdata", name+".warn")
			gotWarn := strings.ReplaceAll(warns.text(), s.etc, "ETC")
			if gotWarn != "" {
				gotWarn += "\n"
			}
			if os.Getenv("PFGO_UPDATE_WARN") != "" {
				os.WriteFile(warnPath, []byte(gotWarn), 0o644)
			}
			wantWarn, _ := os.ReadFile(warnPath)
			if gotWarn != string(wantWarn) {
				t.Errorf("warnings differ from %s:\n%s", warnPath, firstDiff(string(wantWarn), gotWarn))
			}
		})
	}
}

func errSuffix(err error) string {
	if err != nil {
		return " error: " + err.Error()
	}
	return ""
}

// flagNames spells out Resolution flags as Postfix's resolve_clnt test
// program does.
func flagNames(f int) string {
	names := []struct {
		bit  int
		name string
	}{{FlagFinal, "FLAG_FINAL"}, {FlagRouted, "FLAG_ROUTED"}, {FlagError, "FLAG_ERROR"}, {FlagFail, "FLAG_FAIL"},
		{ClassLocal, "CLASS_LOCAL"}, {ClassAlias, "CLASS_ALIAS"}, {ClassVirtual, "CLASS_VIRTUAL"},
		{ClassRelay, "CLASS_RELAY"}, {ClassDefault, "CLASS_DEFAULT"}}
	var out []string
	for _, n := range names {
		if f&n.bit != 0 {
			out = append(out, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		out = append(out, fmt.Sprintf("0x%x", f))
	}
	return strings.Join(out, ",")
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n want %q\n got  %q", i+1, a, b)
		}
	}
	return ""
}
