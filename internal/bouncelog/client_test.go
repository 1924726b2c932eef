package bouncelog

import (
	"net"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// sendTo sends r to the daemon listening on sock through Send.
func sendTo(c *conf.Config, sock, service string, r *Request) error {
	dial := func(*conf.Config, string, time.Duration) (net.Conn, error) { return net.Dial("unix", sock) }
	return sendWith(c, service, r, dial)
}
