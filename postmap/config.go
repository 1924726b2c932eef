package postmap

import (
	"bufio"
	"os"
	"strings"

	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/maptypes"
)

// Config is the part of main.cf that postmap, postalias and newaliases
// read. It is a temporary stand-in for conf.Load until that lands; it
// knows only the defaults of the parameters these commands use.
type Config struct {
	// Dir is the configuration directory.
	Dir  string
	vals map[string]string
}

// ConfigDir returns the configuration directory: dir when not empty, else
// $MAIL_CONFIG, else /etc/postfix.
func ConfigDir(dir string) string {
	if dir != "" {
		return dir
	}
	if d := os.Getenv("MAIL_CONFIG"); d != "" {
		return d
	}
	return "/etc/postfix"
}

// LoadConfig reads dir/main.cf; an unreadable or malformed file is fatal,
// as it is for Postfix's commands.
func LoadConfig(dir string) *Config {
	c := &Config{Dir: dir, vals: map[string]string{}}
	path := dir + "/main.cf"
	f, err := os.Open(path)
	if err != nil {
		msg.Fatal("open %s: %s", path, maptypes.ErrText(err))
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	var cur string
	curLine, n := 0, 0
	flush := func() {
		if cur == "" {
			return
		}
		eq := strings.IndexByte(cur, '=')
		if eq < 0 {
			msg.Fatal("%s, line %d: missing '=' after attribute name: \"%s\"", path, curLine, cur)
		}
		name := strings.TrimSpace(cur[:eq])
		c.vals[name] = strings.TrimSpace(cur[eq+1:])
		cur = ""
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != "" {
				cur += " " + t
			}
			continue
		}
		flush()
		cur, curLine = strings.TrimRight(line, " \t\r"), n
	}
	flush()
	return c
}

func (c *Config) raw(name string) (string, bool) {
	if v, ok := c.vals[name]; ok {
		return v, true
	}
	switch name {
	case "default_database_type":
		return "hash", true
	case "alias_database":
		return "hash:/etc/aliases", true
	case "compatibility_level":
		return "0", true
	case "smtputf8_enable":
		if lvl, _ := c.raw("compatibility_level"); lvl == "0" || lvl == "" {
			return "no", true
		}
		return "yes", true
	case "myhostname":
		h, _ := os.Hostname()
		return h, true
	case "config_directory":
		return c.Dir, true
	case "recipient_delimiter":
		return "", true
	}
	return "", false
}

// Get returns the $-expanded value of name ("" when unknown).
func (c *Config) Get(name string) string {
	v, _ := c.raw(name)
	return c.expand(v, 0)
}

// Bool returns a yes/no parameter.
func (c *Config) Bool(name string) bool {
	v := strings.ToLower(c.Get(name))
	return v == "yes" || v == "true"
}

func (c *Config) expand(v string, depth int) string {
	if depth > 20 || !strings.Contains(v, "$") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		rest := v[i+1:]
		var name string
		switch rest[0] {
		case '{', '(':
			closer := byte('}')
			if rest[0] == '(' {
				closer = ')'
			}
			j := strings.IndexByte(rest, closer)
			if j < 0 {
				b.WriteString(v[i:])
				return b.String()
			}
			name = rest[1:j]
			i += j + 1
		default:
			j := 0
			for j < len(rest) && (rest[j] == '_' || rest[j] >= '0' && rest[j] <= '9' || rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
				j++
			}
			name = rest[:j]
			i += j
		}
		if name == "" {
			continue
		}
		val, _ := c.raw(name)
		b.WriteString(c.expand(val, depth+1))
	}
	return b.String()
}
