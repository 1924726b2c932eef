package check

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
)

// maillogFile receives what other packages (dnsbl) log through maillog
// during the tests.
var maillogFile string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "checktest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	maillogFile = filepath.Join(dir, "maillog")
	main := fmt.Sprintf("maillog_file = %s\nmaillog_file_prefixes = %s\n", maillogFile, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if c, err := conf.Load(dir); err == nil {
		maillog.Init("smtpd", c)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// maillogLines returns the lines logged through maillog that mention key,
// without time stamp and program.
func maillogLines(key string) []string {
	b, _ := os.ReadFile(maillogFile)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if key != "" && strings.Contains(l, key) {
			out = append(out, lineHead.ReplaceAllString(l, ""))
		}
	}
	return out
}
