package smtpd

import (
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// params are the main.cf settings the dialogue reads, read once per
// process.
type params struct {
	hostname, banner, mailName string
	timeout                    time.Duration
	heloRequired, noVRFY       bool
	sizeLimit                  int64
	rcptLimit                  int
	overshootLimit             int
	softErr, hardErr           int
	errSleep                   time.Duration
	junkLimit                  int
	lineLimit                  int
	bareNewline                string
	discardEHLO                map[string]bool
	discardText                []string   // discarded keywords in Postfix's order, for the log
	footer                     footerConf // smtpd_reject_footer and smtpd_reject_footer_maps
	smtputf8                   bool
	strict821                  bool
	softBounce                 bool
	peerLookup                 bool
	recvHeaderTLS              bool
	delayOpen                  bool
	// Read once here rather than for every message or recipient.
	cleanupFlags                                             int    // from receive_override_options
	contentFilter                                            string // $content_filter
	bareRejectCode                                           int    // $smtpd_forbid_bare_newline_reject_code
	msgRateLimit, rcptRateLimit, tlsRateLimit, authRateLimit int
}

func readParams(c *conf.Config) params {
	p := params{
		hostname:       c.Get("myhostname"),
		banner:         c.Get("smtpd_banner"),
		mailName:       c.Get("mail_name"),
		timeout:        c.Time("smtpd_timeout", 's'),
		heloRequired:   c.Bool("smtpd_helo_required"),
		noVRFY:         c.Bool("disable_vrfy_command"),
		sizeLimit:      c.Long("message_size_limit"),
		rcptLimit:      c.Int("smtpd_recipient_limit"),
		overshootLimit: c.Int("smtpd_recipient_overshoot_limit"),
		softErr:        c.Int("smtpd_soft_error_limit"),
		hardErr:        c.Int("smtpd_hard_error_limit"),
		errSleep:       c.Time("smtpd_error_sleep_time", 's'),
		junkLimit:      c.Int("smtpd_junk_command_limit"),
		lineLimit:      c.Int("line_length_limit"),
		bareNewline:    c.Get("smtpd_forbid_bare_newline"),
		footer:         readFooter(c),
		smtputf8:       c.Bool("smtputf8_enable"),
		strict821:      c.Bool("strict_rfc821_envelopes"),
		softBounce:     c.Bool("soft_bounce"),
		peerLookup:     c.Bool("smtpd_peername_lookup"),
		recvHeaderTLS:  c.Bool("smtpd_tls_received_header"),
		discardEHLO:    map[string]bool{},
		delayOpen:      c.Bool("smtpd_delay_open_until_valid_rcpt"),
		cleanupFlags:   receiveFlags(c.Get("receive_override_options")),
		contentFilter:  c.Get("content_filter"),
		bareRejectCode: c.Int("smtpd_forbid_bare_newline_reject_code"),
		msgRateLimit:   c.Int("smtpd_client_message_rate_limit"),
		rcptRateLimit:  c.Int("smtpd_client_recipient_rate_limit"),
		tlsRateLimit:   c.Int("smtpd_client_new_tls_session_rate_limit"),
		authRateLimit:  c.Int("smtpd_client_auth_rate_limit"),
	}
	for _, w := range conf.SplitList(c.Get("smtpd_discard_ehlo_keywords")) {
		p.discardEHLO[strings.ToUpper(w)] = true
	}
	for _, k := range ehloMaskNames {
		if p.discardEHLO[k] {
			p.discardText = append(p.discardText, k)
		}
	}
	if p.lineLimit <= 0 {
		p.lineLimit = 2048
	}
	return p
}

// rawParam is a parameter's value without $name expansion.
func rawParam(c *conf.Config, name string) string {
	v, _ := c.Raw(name)
	return v
}

// ehloMaskNames are the EHLO keywords smtpd_discard_ehlo_keywords knows,
// in the order Postfix lists them.
var ehloMaskNames = []string{"8BITMIME", "AUTH", "ETRN", "PIPELINING", "SIZE", "VERP", "VRFY", "XCLIENT",
	"XFORWARD", "STARTTLS", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8", "CHUNKING"}
