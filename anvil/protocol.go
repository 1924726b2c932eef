package anvil

// ServiceName is the master.cf name of the service ("private/anvil").
const ServiceName = "anvil"

// Protocol is the name anvil announces when a client connects.
const Protocol = "anvil_protocol"

// Protocol attribute names and values (plain attribute format, no
// protocol announcement).
const (
	AttrRequest = "request"
	AttrIdent   = "ident"
	AttrStatus  = "status"
	AttrCount   = "count"
	AttrRate    = "rate"
	AttrMail    = "mail"
	AttrRcpt    = "rcpt"
	AttrNewTLS  = "newtls"
	AttrAuth    = "auth"

	ReqConnect      = "connect"
	ReqDisconnect   = "disconnect"
	ReqMessage      = "message"
	ReqRecipient    = "recipient"
	ReqNewTLS       = "newtls"
	ReqNewTLSReport = "newtls_status"
	ReqAuth         = "auth"
	ReqLookup       = "lookup"
)

// Reply status values: StatusFail is -1 sent as an unsigned int.
const (
	StatusOK   uint32 = 0
	StatusFail uint32 = 0xffffffff
)

// Stats is the answer to a lookup request.
type Stats struct {
	Count, Rate, Mail, Rcpt, NewTLS, Auth int
}
