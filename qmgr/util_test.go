package qmgr

import (
	"fmt"
	"net"
	"runtime"

	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/rewrite"
)

func deliverStatus(code, text string) dsn.Status { return dsn.New(code, text) }

type netConn = net.Conn

func rewriteRes(transport, nexthop string) rewrite.Resolution {
	return rewrite.Resolution{Flags: rewrite.ClassDefault, Transport: transport, Nexthop: nexthop}
}

func ptr[T any](v T) *T { return &v }

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

func runtimeGoexit() { runtime.Goexit() }
