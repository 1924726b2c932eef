package postmap

import (
	"errors"
	"io/fs"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/maptypes"
)

// ConfigDir returns the configuration directory: dir (from -c) when not
// empty, else $MAIL_CONFIG, else /etc/postfix.
func ConfigDir(dir string) string {
	if dir != "" {
		return dir
	}
	return conf.ConfigDir()
}

// LoadConfig reads DIR/main.cf over Postfix's built-in defaults, as
// conf.Load does, but names the file exactly as Postfix does in its
// diagnostics (DIR + "/main.cf", not cleaned: "./main.cf" for "-c ."). A
// missing, unreadable or malformed main.cf is fatal; warnings about it are
// printed.
func LoadConfig(dir string) *conf.Config {
	path := dir + "/main.cf"
	f, err := conf.ReadMain(path)
	if err != nil {
		var pe *conf.ParseError
		switch {
		case errors.As(err, &pe):
			msg.Fatal("%s", pe.Msg)
		case errors.Is(err, fs.ErrNotExist):
			msg.Fatal("open %s: No such file or directory", path)
		case errors.Is(err, fs.ErrPermission):
			msg.Fatal("open %s: Permission denied", path)
		default:
			msg.Fatal("open %s: %v", path, err)
		}
	}
	for _, w := range f.Warnings {
		msg.Warn("%s", w)
	}
	c := conf.New(dir, f)
	if dir != conf.DefaultConfigDir {
		c.Set("config_directory", dir)
	}
	// Diagnostics keep UTF-8 from here on when smtputf8_enable says so,
	// as Postfix's postmap and postalias do once main.cf is read.
	utf8, err := conf.ParseBool(c.Get("smtputf8_enable"))
	msg.SetUTF8(err == nil && utf8)
	// Legacy-style database client tables read this main.cf.
	maptypes.MainConfig = func() *conf.Config { return c }
	return c
}

// Param returns the expanded value of a main.cf parameter; an expansion
// error is fatal with Postfix's wording for its configuration dictionary.
func Param(c *conf.Config, name string) string {
	v, err := c.GetErr(name)
	if err != nil {
		msg.Fatal("dictionary mail_dict: macro processing error")
	}
	return v
}

// BoolParam returns a yes/no parameter; a bad value is fatal.
func BoolParam(c *conf.Config, name string) bool {
	v := Param(c, name)
	b, err := conf.ParseBool(v)
	if err != nil {
		msg.Fatal("bad boolean configuration: %s = %s", name, v)
	}
	return b
}
