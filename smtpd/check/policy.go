package check

import (
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/policy"
)

// policyEntry is one check_policy_service endpoint.
type policyEntry struct {
	client        PolicyClient
	defaultAction string
	context       string
	err           error
}

// openPolicy creates (once) the client for a check_policy_service spec.
func (k *Checker) openPolicy(spec string) {
	if _, ok := k.policy[spec]; ok {
		return
	}
	pe := &policyEntry{defaultAction: k.c.Get("smtpd_policy_service_default_action"),
		context: k.c.Get("smtpd_policy_service_policy_context")}
	if set, err := policy.ParseSpec(k.c, spec); err == nil {
		pe.defaultAction, pe.context = set.DefaultAction, set.PolicyContext
	} else {
		pe.err = err
	}
	if pe.err == nil {
		if k.deps.Policy != nil {
			pe.client, pe.err = k.deps.Policy(k.c, spec)
		} else {
			pe.client, pe.err = defaultPolicy(k.c, spec, k.warn)
		}
	}
	if pe.err != nil && k.initErr == nil {
		k.initErr = pe.err
	}
	k.policyEntries[spec] = pe
	k.policy[spec] = pe.client
}

// policyRequest fills a policy request from the session, as Postfix 3.7's
// smtpd does.
func (e *eval) policyRequest() *policy.Request {
	s, st := e.s, e.st()
	r := &policy.Request{
		ProtocolState: s.Stage, ProtocolName: s.Protocol,
		HeloName: str(st.helo), QueueID: s.QueueID, Sender: str(st.sender), Recipient: str(st.recipient),
		ClientAddress: s.Addr, ClientName: s.Name, ReverseClientName: s.ReverseName,
		Instance: s.InstanceID, SASLMethod: s.SASLMethod, SASLUsername: s.SASLUser, SASLSender: s.SASLSender,
		Size: s.Size, ETRNDomain: str(st.etrn), ClientPort: s.Port, ServerAddress: s.ServerAddr, ServerPort: s.ServerPort,
	}
	if s.Stage == "DATA" || s.Stage == "END-OF-MESSAGE" {
		r.RecipientCount = s.RcptCount
	}
	if t := s.TLS; t != nil {
		f := e.k.certFacts(t)
		if f.trusted {
			r.CcertSubject, r.CcertIssuer = xtext(f.peerCN), xtext(f.issuerCN)
		}
		r.CcertFingerprint, r.CcertPubkeyFingerprint = f.certFP, f.pkeyFP
		r.EncryptionProtocol, r.EncryptionCipher, r.EncryptionKeysize = t.Protocol, t.Cipher, t.Bits
	}
	return r
}

// xtext encodes a certificate name as RFC 3461 xtext.
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			b.WriteString("+" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// policyCheck asks a policy server and applies its action like an access
// table value; when the server cannot be reached, default_action applies.
func (e *eval) policyCheck(spec, replyName, replyClass, defACL string) status {
	k := e.k
	k.mu.Lock()
	pe := k.policyEntries[spec]
	k.mu.Unlock()
	if pe == nil || pe.client == nil {
		return e.reject(classPolicy, 451, "4.3.5", "Server configuration problem")
	}
	action, err := pe.client.QueryRequest(e.policyRequest())
	if err != nil {
		// The client has logged the trouble; default_action applies.
		action = pe.defaultAction
	}
	return e.tableResult(spec, action, "policy query", replyName, replyClass, defACL)
}

// defaultPolicy opens a policy client with internal/policy; its warnings
// go to warn.
func defaultPolicy(c *conf.Config, spec string, warn func(string, ...any)) (PolicyClient, error) {
	p, err := policy.New(c, spec)
	if err != nil {
		return nil, err
	}
	p.Warn = warn
	return p, nil
}
