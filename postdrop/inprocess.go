package postdrop

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
)

// Serve does one `postdrop -r` job inside the calling process: it reads
// the record stream from in, writes postdrop's replies to out and returns
// its status. sendmail uses it when it runs as root, the one case in
// which it may write the maildrop queue itself, and so saves starting a
// second program for every message; everything else (the file, its mode,
// the replies, the pickup trigger, the diagnostics, which carry postdrop's
// name) is what the postdrop program does. The caller must not log while
// Serve runs.
func Serve(c *conf.Config, uid int, in io.Reader, out io.Writer) int {
	restore := maillog.Borrow("postdrop")
	defer restore()
	oldMask := syscall.Umask(0o022)
	defer syscall.Umask(oldMask)
	prevExit := maillog.SetExit(func(code int) {
		abortFile()
		os.Exit(code)
	})
	defer maillog.SetExit(prevExit)
	if user, denied := CheckUserACL(c, "authorized_submit_users", uid); denied {
		maillog.Fatal("User %s(%d) is not allowed to submit mail", user, uid)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case s := <-sigs:
			abortFile()
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-stop:
		}
	}()
	defer signal.Stop(sigs)
	return drop(c, queue.FromConfig(c), uid, in, out)
}
