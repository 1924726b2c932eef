package main

// The committed tables that complete what inference from the defaults and
// the manual page cannot know.

type override struct {
	typ  string
	unit byte
}

// overrides fixes parameters whose type the shape of the default or the
// manual page gets wrong or cannot tell.
var overrides = map[string]override{
	"compatibility_level":      {typ: "string"}, // a level such as 3.6
	"lmtp_tcp_port":            {typ: "string"}, // a port name or number
	"mail_release_date":        {typ: "string"},
	"multi_instance_wrapper":   {typ: "string"}, // a command line
	"allow_mail_to_commands":   {typ: "list"},
	"allow_mail_to_files":      {typ: "list"},
	"debug_peer_list":          {typ: "list"},
	"forward_path":             {typ: "list"},
	"hash_queue_names":         {typ: "list"},
	"known_tcp_ports":          {typ: "list"},
	"mydestination":            {typ: "list"},
	"prepend_delivered_header": {typ: "list"},
}

// longs are the integer parameters Postfix keeps in a C long (byte counts
// that may exceed 2^31).
var longs = map[string]bool{
	"message_size_limit":    true,
	"mailbox_size_limit":    true,
	"virtual_mailbox_limit": true,
	"queue_minfree":         true,
}

// computed are the parameters whose default Postfix works out on the
// running machine; found by running "postconf -d" with another host name
// (unshare -u), in another network namespace, under another argv[0] and
// comparing. The registry stores no default for them.
var computed = map[string]bool{
	"myhostname":   true,
	"mydomain":     true,
	"mynetworks":   true,
	"process_id":   true,
	"process_name": true,
}

// raw are the parameters postconf -x leaves unexpanded (their $names are
// expanded later, per delivery or per SMTP session); found by setting each
// parameter to "$other" in main.cf and running "postconf -x".
var raw = map[string]bool{
	"command_execution_directory": true,
	"default_rbl_reply":           true,
	"forward_path":                true,
	"luser_relay":                 true,
	"mailbox_command":             true,
	"postscreen_expansion_filter": true,
	"postscreen_reject_footer":    true,
	"smtpd_expansion_filter":      true,
	"smtpd_reject_footer":         true,
}

// readOnly are the parameters that a main.cf assignment cannot change
// (postconf warns "read-only parameter assignment").
var readOnly = map[string]bool{
	"process_id":   true,
	"process_name": true,
	"service_name": true,
}
