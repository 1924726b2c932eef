package postfixcmd

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// logrotate implements "postfix logrotate" as postfix-script does.
func (c *cmd) logrotate() int {
	vals := map[string]string{}
	for _, name := range []string{"maillog_file", "maillog_file_compressor", "maillog_file_rotate_suffix"} {
		v := c.c.Get(name)
		if v == "" {
			return c.fatal("empty '%s' parameter value - logfile rotation failed", name)
		}
		vals[name] = v
	}
	file := vals["maillog_file"]
	if strings.HasPrefix(file, "/dev/") {
		return c.fatal("not rotating '%s'", file)
	}
	fail := func(text string) int {
		return c.fatal("logfile '%s' rotation failed: %s", file, text)
	}
	old := file + "." + strftime(vals["maillog_file_rotate_suffix"], time.Now())
	if err := os.Rename(file, old); err != nil {
		if _, serr := os.Lstat(file); serr != nil {
			return fail(fmt.Sprintf("mv: cannot stat '%s': %s", file, errText(serr)))
		}
		return fail(fmt.Sprintf("mv: cannot move '%s' to '%s': %s", file, old, errText(err)))
	}
	if pid, ok := c.running(); ok {
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fail(fmt.Sprintf("kill: (%d) - %s", pid, errText(err)))
		}
	}
	time.Sleep(time.Second)
	out, err := exec.Command(vals["maillog_file_compressor"], old).CombinedOutput()
	if err != nil {
		text := strings.TrimRight(string(out), "\n")
		if text == "" {
			text = err.Error()
		}
		return fail(text)
	}
	return 0
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if le, ok := err.(*os.LinkError); ok {
		err = le.Err
	}
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// strftime formats t with the conversions date(1) users put in
// maillog_file_rotate_suffix; others are kept as written.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
