package trivialrewrite

import (
	"net"
	"os"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/server"
)

// tableCheck is how often the daemon looks for changed table files.
const tableCheck = 10 * time.Second

// Run starts the trivial-rewrite daemon under the multi-client server
// skeleton. It never returns.
func Run() {
	var engine *rewrite.Engine
	var timeout time.Duration
	server.Run("trivial-rewrite", server.Options{
		Mode: server.Multi,
		PreJail: func(s *server.Service) error {
			if len(s.Args) > 0 {
				maillog.Fatal("unexpected command-line argument: %s", s.Args[0])
			}
			engine = rewrite.NewEngineLog(s.Config, maillog.Warn, maillog.Error)
			timeout = s.Config.Time("ipc_timeout", 's')
			return nil
		},
		PostJail: func(s *server.Service) error {
			go watchTables(engine)
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			engine.Serve(c, timeout)
		},
	})
}

// watchTables ends the process when a table file changes, so that master
// starts one that reads the new contents.
func watchTables(e *rewrite.Engine) {
	for range time.Tick(tableCheck) {
		if name := e.Changed(); name != "" {
			maillog.Info("table %s has changed -- restarting", name)
			os.Exit(0)
		}
	}
}
