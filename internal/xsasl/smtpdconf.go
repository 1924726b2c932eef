package xsasl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AppConf is a parsed Cyrus SASL application configuration file (smtpd.conf).
type AppConf struct {
	Path   string            // the file read; "" when none was found
	Values map[string]string // key (lower case) → value; the first entry of a key wins, as in Cyrus
	Errors []string          // "FILE, line N: ..." for each line Cyrus refuses
}

// Get returns the value of key and whether the file set it.
func (a *AppConf) Get(key string) (string, bool) {
	v, ok := a.Values[key]
	return v, ok
}

// ParseAppConf parses the text of a Cyrus SASL application configuration file as Debian's
// libsasl2 does. Blank lines and lines whose first non-space character is '#' are skipped. Any
// other line is "key: value": the key (possibly empty) is made of letters, digits, '-' and '_'
// and is folded to lower case, ':' must follow it at once, and the value (white space around it
// dropped) must not be empty. A later entry for a key already set is ignored. Cyrus refuses the
// whole file when a line breaks these rules (Postfix's smtpd then stops with "SASL per-process
// initialization failed"); here each such line is also named in Errors with file and line.
func ParseAppConf(path string, data []byte) *AppConf {
	a := &AppConf{Path: path, Values: map[string]string{}}
	for n, raw := range bytes.Split(data, []byte("\n")) {
		line := string(raw)
		p := strings.TrimLeftFunc(line, isCSpace)
		if p == "" || p[0] == '#' {
			continue
		}
		i := 0
		for i < len(p) && isKeyByte(p[i]) {
			i++
		}
		key := strings.ToLower(p[:i])
		bad := func(why string) {
			a.Errors = append(a.Errors, fmt.Sprintf("%s, line %d: %s: %q", path, n+1, why, line))
		}
		if i >= len(p) || p[i] != ':' {
			bad("expected \"name: value\"")
			continue
		}
		val := strings.TrimFunc(p[i+1:], isCSpace)
		if val == "" {
			bad("missing value for option \"" + key + "\"")
			continue
		}
		if _, dup := a.Values[key]; !dup {
			a.Values[key] = val
		}
	}
	return a
}

func isKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// AppConfDirs returns the directories searched for the application configuration file, in
// order. Debian's smtpd (checked with strace) reads $config_directory/sasl and then /usr/lib/sasl
// and nothing else, whatever cyrus_sasl_config_path says; we search those two first and then,
// where Debian would find no file, the directories of $cyrus_sasl_config_path (colon-separated)
// and /etc/sasl2 (where the guides and Red Hat systems keep smtpd.conf).
func AppConfDirs(cyrusPath, configDir string) []string {
	dirs := []string{filepath.Join(configDir, "sasl"), "/usr/lib/sasl"}
	for _, d := range strings.Split(cyrusPath, ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, "/etc/sasl2")
}

// FindAppConf reads NAME.conf from the first directory of dirs that holds it. When no directory
// holds it the result is an empty configuration (Cyrus's defaults apply).
func FindAppConf(dirs []string, name string) (*AppConf, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name+".conf")
		data, err := os.ReadFile(p)
		if err == nil {
			return ParseAppConf(p, data), nil
		}
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
	}
	return &AppConf{Values: map[string]string{}}, nil
}
