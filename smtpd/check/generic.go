package check

import (
	"strconv"
	"strings"
	"time"
)

// Restriction names that take a table argument, with what they check.
const (
	aclClient     = "check_client_access"
	aclRevClient  = "check_reverse_client_hostname_access"
	aclHelo       = "check_helo_access"
	aclSender     = "check_sender_access"
	aclRecipient  = "check_recipient_access"
	aclEtrn       = "check_etrn_access"
	aclCCert      = "check_ccert_access"
	aclSASL       = "check_sasl_access"
	noDefaultACL  = ""
	policyService = "check_policy_service"
)

// run applies one restriction list, catching the early exits that table
// trouble and configuration errors take (Postfix's setjmp).
func (e *eval) run(list []string, replyName, replyClass, defACL string) (st status) {
	if len(list) == 0 {
		return stDunno
	}
	defer func() {
		if r := recover(); r != nil {
			j, ok := r.(jump)
			if !ok {
				panic(r)
			}
			st = j.st
		}
	}()
	return e.generic(list, replyName, replyClass, defACL)
}

// mapArg returns the table after a check_*_access word, or ends the
// evaluation with a configuration error when it is missing or malformed.
func (e *eval) mapArg(list []string, i *int, cmd string) string {
	if *i+1 >= len(list) || strings.IndexByte(list[*i+1], ':') < 0 {
		arg := ""
		if *i+1 < len(list) {
			*i++
			arg = list[*i]
		} else {
			arg = list[*i]
		}
		e.k.warn("restriction %s: bad argument \"%s\": need maptype:mapname", cmd, arg)
		e.serverError()
	}
	*i++
	return list[*i]
}

// domainArg returns the DNSBL domain after a reject_rbl_* word ("" with a
// warning when it is missing).
func (e *eval) domainArg(list []string, i *int, name string) (string, bool) {
	if *i+1 >= len(list) {
		e.k.warn("restriction %s requires domain name argument", name)
		return "", false
	}
	*i++
	return list[*i], true
}

// forbidWhitelist refuses OK from restrictions that must not permit.
func (e *eval) forbidWhitelist(name string, st status, target string) {
	if st == stOK {
		e.k.warn("restriction %s returns OK for %s", name, target)
		e.k.warn("this is not allowed for security reasons")
		e.k.warn("use DUNNO instead of OK if you want to make an exception")
		e.serverError()
	}
}

func isUnknown(name string) bool { return strings.EqualFold(name, "unknown") }

// generic is Postfix's generic_checks: apply restrictions in order until
// one decides.
func (e *eval) generic(list []string, replyName, replyClass, defACL string) status {
	s, st, k := e.s, e.st(), e.k
	saved := st.recursion
	st.recursion++
	defer func() { st.recursion = saved }()
	var status status
	for i := 0; i < len(list); i++ {
		if s.Discard {
			break
		}
		name := list[i]
		lname := strings.ToLower(name)
		if lname == "warn_if_reject" {
			if st.warnIfReject == 0 {
				st.warnIfReject = st.recursion
			}
			continue
		}
		if strings.IndexByte(name, ':') >= 0 {
			if defACL == noDefaultACL {
				k.warn("specify one of (%s, %s, %s, %s, %s, %s) before %s restriction \"%s\"",
					aclClient, aclRevClient, aclHelo, aclSender, aclRecipient, aclEtrn, replyClass, name)
				e.serverError()
			}
			lname = defACL
			i--
		}
		helo, sender, rcpt, etrn := st.helo, st.sender, st.recipient, st.etrn
		switch lname {
		case "permit":
			status = e.permit(name, replyClass, replyName, "")
			if i+1 < len(list) {
				k.warn("restriction `%s' after `%s' is ignored", list[i+1], "permit")
			}
		case "defer":
			status = e.reject(classPolicy, k.p.deferCode, "4.3.2", "<%s>: %s rejected: Try again later", replyName, replyClass)
			if i+1 < len(list) && st.warnIfReject == 0 {
				k.warn("restriction `%s' after `%s' is ignored", list[i+1], "defer")
			}
		case "reject":
			status = e.reject(classPolicy, k.p.rejectCode, "5.7.1", "<%s>: %s rejected: Access denied", replyName, replyClass)
			if i+1 < len(list) && st.warnIfReject == 0 {
				k.warn("restriction `%s' after `%s' is ignored", list[i+1], "reject")
			}
		case "reject_unauth_pipelining":
			if s.Pipelined {
				status = e.reject(classProtocol, 503, "5.5.0", "<%s>: %s rejected: Improper use of SMTP command pipelining", replyName, replyClass)
			}
		case policyService:
			if i+1 >= len(list) || strings.IndexByte(list[i+1], ':') < 0 {
				k.warn("restriction %s must be followed by transport:server", policyService)
				e.serverError()
			}
			i++
			status = e.policyCheck(list[i], replyName, replyClass, defACL)
		case "defer_if_permit":
			status = e.deferIfPermit(1, classPolicy, 450, "4.7.0", "<%s>: %s rejected: defer_if_permit requested", replyName, replyClass)
		case "defer_if_reject":
			e.deferIfReject(classPolicy, 450, "4.7.0", "<%s>: %s rejected: defer_if_reject requested", replyName, replyClass)
		case "sleep":
			if i+1 >= len(list) || !allDigits(list[i+1]) {
				k.warn("restriction %s must be followed by number", "sleep")
				e.serverError()
			}
			i++
			n, _ := strconv.Atoi(list[i])
			if k.deps.Sleep != nil {
				k.deps.Sleep(n)
			} else {
				time.Sleep(time.Duration(n) * time.Second)
			}
		case "reject_plaintext_session":
			if s.TLS == nil {
				status = e.reject(classPolicy, k.p.plaintextCode, "4.7.1", "Session encryption is required")
			}

		// Client name and address.
		case "reject_unknown_client_hostname", "reject_unknown_client":
			if s.NameStatus != 2 {
				code := 450
				if s.NameStatus >= 5 {
					code = k.p.unkClientCode
				}
				status = e.reject(classPolicy, code, "4.7.25", "Client host rejected: cannot find your hostname, [%s]", s.Addr)
			}
		case "reject_unknown_reverse_client_hostname":
			if s.ReverseNameStatus != 2 {
				code := 450
				if s.ReverseNameStatus == 5 {
					code = k.p.unkClientCode
				}
				status = e.reject(classPolicy, code, "4.7.1", "Client host rejected: cannot find your reverse hostname, [%s]", s.Addr)
			}
		case "permit_inet_interfaces":
			if k.ownAddr(s.peerAddr()) {
				status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
			}
		case "permit_mynetworks":
			ok, err := k.mynetworks.Match(s.Name, s.Addr)
			if err != nil {
				status = errStatus(err)
			} else if ok {
				status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
			}
		case aclClient:
			t := e.mapArg(list, &i, aclClient)
			status, _ = e.namadrAccess(t, s.Name, s.Addr, false, s.namaddr(k.p.clientPortLog), nameClient, defACL)
		case aclRevClient:
			t := e.mapArg(list, &i, aclRevClient)
			status, _ = e.namadrAccess(t, s.ReverseName, s.Addr, false, s.namaddr(k.p.clientPortLog), nameRevClient, defACL)
			e.forbidWhitelist(name, status, s.ReverseName)
		case "reject_rbl_client", "reject_rbl":
			if d, ok := e.domainArg(list, &i, name); ok {
				status = e.rblAddr(d, s.Addr, nameClient)
			}
		case "permit_dnswl_client":
			if d, ok := e.domainArg(list, &i, name); ok {
				status = e.dnswlAddr(d, s.Addr, nameClient)
				if status == stOK {
					status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
				}
			}
		case "reject_rhsbl_client":
			if d, ok := e.domainArg(list, &i, name); ok && !isUnknown(s.Name) {
				status = e.rblDomain(d, s.Name, nameClient)
			}
		case "permit_rhswl_client":
			if d, ok := e.domainArg(list, &i, name); ok && !isUnknown(s.Name) {
				status = e.dnswlDomain(d, s.Name, nameClient)
				if status == stOK {
					status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
				}
			}
		case "reject_rhsbl_reverse_client":
			if d, ok := e.domainArg(list, &i, name); ok && !isUnknown(s.ReverseName) {
				status = e.rblDomain(d, s.ReverseName, nameRevClient)
			}
		case aclCCert:
			t := e.mapArg(list, &i, aclCCert)
			status = e.ccertAccess(t, defACL)
		case aclSASL:
			t := e.mapArg(list, &i, aclSASL)
			if k.p.saslEnable || s.SASLEnabled {
				if s.SASLUser != "" {
					status, _ = e.access(t, s.SASLUser, false, printableUnder(s.SASLUser), nameSASLUser, defACL)
				}
			} else {
				k.warn("restriction `%s' ignored: no SASL support", name)
			}
		case "check_client_ns_access", "check_client_mx_access":
			t := e.mapArg(list, &i, lname)
			if !isUnknown(s.Name) {
				status = e.serverAccess(t, s.Name, lname == "check_client_mx_access", s.namaddr(k.p.clientPortLog), nameClient, defACL)
				e.forbidWhitelist(name, status, s.Name)
			}
		case "check_reverse_client_hostname_ns_access", "check_reverse_client_hostname_mx_access":
			t := e.mapArg(list, &i, lname)
			if !isUnknown(s.ReverseName) {
				status = e.serverAccess(t, s.ReverseName, strings.HasSuffix(lname, "mx_access"), s.namaddr(k.p.clientPortLog), nameRevClient, defACL)
				e.forbidWhitelist(name, status, s.ReverseName)
			}

		case "check_client_a_access", "check_reverse_client_hostname_a_access":
			t := e.mapArg(list, &i, lname)
			n, class := s.Name, nameClient
			if lname != "check_client_a_access" {
				n, class = s.ReverseName, nameRevClient
			}
			if !isUnknown(n) {
				status = e.addrsAccess(t, n, s.namaddr(k.p.clientPortLog), class, defACL)
				e.forbidWhitelist(name, status, n)
			}
		case "check_helo_a_access":
			t := e.mapArg(list, &i, lname)
			if helo != nil {
				status = e.addrsAccess(t, *helo, *helo, nameHelo, defACL)
				e.forbidWhitelist(name, status, *helo)
			}
		case "check_sender_a_access":
			t := e.mapArg(list, &i, lname)
			if sender != nil && *sender != "" {
				status = e.addrsAccess(t, *sender, *sender, nameSender, defACL)
				e.forbidWhitelist(name, status, *sender)
			}
		case "check_recipient_a_access":
			t := e.mapArg(list, &i, lname)
			if rcpt != nil && *rcpt != "" {
				status = e.addrsAccess(t, *rcpt, *rcpt, nameRecipient, defACL)
				e.forbidWhitelist(name, status, *rcpt)
			}

		// HELO/EHLO argument.
		case aclHelo:
			t := e.mapArg(list, &i, aclHelo)
			if helo != nil {
				status, _ = e.domainAccess(t, *helo, false, *helo, nameHelo, defACL)
			}
		case "reject_invalid_helo_hostname", "reject_invalid_hostname":
			if helo != nil {
				if !strings.HasPrefix(*helo, "[") {
					status = e.invalidHostname(*helo, *helo, nameHelo)
				} else {
					status = e.invalidHostaddr(*helo, *helo, nameHelo)
				}
			}
		case "reject_unknown_helo_hostname", "reject_unknown_hostname":
			if helo != nil {
				if !strings.HasPrefix(*helo, "[") {
					status = e.unknownHostname(*helo, *helo, nameHelo)
				} else {
					status = e.invalidHostaddr(*helo, *helo, nameHelo)
				}
			}
		case "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname":
			if helo != nil {
				if !strings.HasPrefix(*helo, "[") {
					status = e.nonFQDNHostname(*helo, *helo, nameHelo)
				} else {
					status = e.invalidHostaddr(*helo, *helo, nameHelo)
				}
			}
		case "check_helo_ns_access", "check_helo_mx_access":
			t := e.mapArg(list, &i, lname)
			if helo != nil {
				status = e.serverAccess(t, *helo, lname == "check_helo_mx_access", *helo, nameHelo, defACL)
				e.forbidWhitelist(name, status, *helo)
			}
		case "reject_rhsbl_helo":
			if d, ok := e.domainArg(list, &i, name); ok && helo != nil {
				status = e.rblDomain(d, *helo, nameHelo)
			}

		// MAIL FROM address.
		case aclSender:
			t := e.mapArg(list, &i, aclSender)
			if sender != nil && *sender != "" {
				status, _ = e.mailAccess(t, *sender, *sender, nameSender, defACL)
			}
			if sender != nil && *sender == "" {
				status, _ = e.access(t, k.p.nullKey, false, *sender, nameSender, defACL)
			}
		case "reject_unknown_sender_domain", "reject_unknown_address":
			if sender != nil && *sender != "" {
				status = e.unknownAddress(*sender, *sender, nameSender)
			}
		case "reject_unverified_sender":
			if sender != nil && *sender != "" {
				status = e.unverified(*sender, nameSender)
			}
		case "reject_non_fqdn_sender":
			if sender != nil && *sender != "" {
				status = e.nonFQDNAddress(*sender, *sender, nameSender)
			}
		case "reject_authenticated_sender_login_mismatch", "reject_known_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch":
			if !(k.p.saslEnable || s.SASLEnabled) {
				k.warn("restriction `%s' ignored: no SASL support", name)
			} else if sender != nil && *sender != "" {
				switch {
				case lname == "reject_authenticated_sender_login_mismatch":
					status = e.authSenderMismatch(*sender, false)
				case lname == "reject_known_sender_login_mismatch" && s.SASLUser != "":
					status = e.authSenderMismatch(*sender, true)
				default:
					status = e.unauthSenderMismatch(*sender)
				}
			}
		case "check_sender_ns_access", "check_sender_mx_access":
			t := e.mapArg(list, &i, lname)
			if sender != nil && *sender != "" {
				status = e.serverAccess(t, *sender, lname == "check_sender_mx_access", *sender, nameSender, defACL)
				e.forbidWhitelist(name, status, *sender)
			}
		case "reject_rhsbl_sender":
			if d, ok := e.domainArg(list, &i, name); ok && sender != nil && *sender != "" {
				status = e.rblDomain(d, *sender, nameSender)
			}
		case "reject_unlisted_sender":
			if sender != nil && *sender != "" {
				status = e.senderRcptMaps(*sender)
			}

		// RCPT TO address.
		case aclRecipient:
			t := e.mapArg(list, &i, aclRecipient)
			if rcpt != nil {
				status, _ = e.mailAccess(t, *rcpt, *rcpt, nameRecipient, defACL)
			}
		case "permit_mx_backup":
			if rcpt != nil {
				status = e.permitMXBackup(*rcpt, *rcpt, nameRecipient)
				if status == stOK {
					status = e.permit(name, nameRecipient, *rcpt, "")
				}
			}
		case "permit_auth_destination":
			if rcpt != nil {
				status = e.permitAuthDestination(*rcpt)
				if status == stOK {
					status = e.permit(name, nameRecipient, *rcpt, "")
				}
			}
		case "reject_unauth_destination":
			if rcpt != nil {
				status = e.rejectUnauthDestination(*rcpt, k.p.relayCode, "5.7.1")
			}
		case "defer_unauth_destination":
			if rcpt != nil {
				status = e.rejectUnauthDestination(*rcpt, k.p.relayCode-100, "4.7.1")
			}
		case "check_relay_domains":
			if rcpt != nil {
				status = e.checkRelayDomains(*rcpt, *rcpt, nameRecipient)
			}
			if status == stOK {
				status = e.permit(name, nameRecipient, str(rcpt), "")
			}
			if i+1 < len(list) && st.warnIfReject == 0 {
				k.warn("restriction `%s' after `%s' is ignored", list[i+1], "check_relay_domains")
			}
		case "permit_sasl_authenticated":
			if (k.p.saslEnable || s.SASLEnabled) && s.SASLUser != "" {
				status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
			}
		case "permit_tls_all_clientcerts", "permit_tls_clientcerts":
			status = e.tlsClientCerts(lname == "permit_tls_all_clientcerts")
			if status == stOK {
				status = e.permit(name, nameClient, s.namaddr(k.p.clientPortLog), "")
			}
		case "reject_unknown_recipient_domain":
			if rcpt != nil {
				status = e.unknownAddress(*rcpt, *rcpt, nameRecipient)
			}
		case "reject_non_fqdn_recipient":
			if rcpt != nil {
				status = e.nonFQDNAddress(*rcpt, *rcpt, nameRecipient)
			}
		case "check_recipient_ns_access", "check_recipient_mx_access":
			t := e.mapArg(list, &i, lname)
			if rcpt != nil && *rcpt != "" {
				status = e.serverAccess(t, *rcpt, lname == "check_recipient_mx_access", *rcpt, nameRecipient, defACL)
				e.forbidWhitelist(name, status, *rcpt)
			}
		case "reject_rhsbl_recipient":
			if d, ok := e.domainArg(list, &i, name); ok && rcpt != nil {
				status = e.rblDomain(d, *rcpt, nameRecipient)
			}
		case "check_recipient_maps", "reject_unlisted_recipient":
			if rcpt != nil && *rcpt != "" {
				status = e.recipientRcptMaps(*rcpt)
			}
		case "reject_multi_recipient_bounce":
			limit := 0
			if s.Stage == "DATA" {
				limit = 1
			}
			if sender != nil && *sender == "" && s.RcptCount > limit {
				status = e.reject(classPolicy, k.p.mulRcptCode, "5.5.3", "<%s>: %s rejected: Multi-recipient bounce", replyName, replyClass)
			}
		case "reject_unverified_recipient":
			if rcpt != nil && *rcpt != "" {
				status = e.unverified(*rcpt, nameRecipient)
			}

		// ETRN argument.
		case aclEtrn:
			t := e.mapArg(list, &i, aclEtrn)
			if etrn != nil {
				status, _ = e.domainAccess(t, *etrn, false, *etrn, nameEtrn, defACL)
			}

		default:
			if cl, ok := k.classes[name]; ok {
				status = e.generic(cl, replyName, replyClass, defACL)
			} else {
				k.warn("unknown smtpd restriction: \"%s\"", name)
				e.serverError()
			}
		}
		if status < 0 {
			if status == stRetry {
				e.dictRetry(replyName)
			}
			e.serverError()
		}
		if st.warnIfReject >= st.recursion {
			st.warnIfReject = 0
		}
		if status != stDunno {
			break
		}
		if st.deferIfPermit.active && st.deferIfReject.active {
			break
		}
	}
	st.recursion = saved
	if st.warnIfReject >= st.recursion {
		st.warnIfReject = 0
	}
	return status
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// printableUnder replaces non-printable bytes with '_'.
func printableUnder(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}
