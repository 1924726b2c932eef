package postconf

import (
	"os"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// Database clients (ldap:, mysql:, pgsql:, sqlite:, memcache:) take their
// settings from a file ("mysql:/etc/postfix/virtual.cf") or, in the legacy
// style, from main.cf parameters named after the table ("ldap:src" reads
// src_server_host, src_search_base ...). postconf checks both: a setting in
// such a file that the client does not know is an unused parameter, and a
// legacy-style parameter set in main.cf is known.
//
// The suffixes each client knows were found by asking Postfix 3.7's
// postconf which names it accepts (see TestDiffDatabaseClients).
var dbmsSuffixes = map[string]string{
	"ldap": "bind bind_dn bind_pw cache cache_expiry cache_size chase_referrals debuglevel dereference domain " +
		"expansion_limit leaf_result_attribute query_filter recursion_limit result_attribute result_filter " +
		"result_format sasl_authz_id sasl_mechs sasl_minssf sasl_realm scope search_base server_host " +
		"server_port size_limit special_result_attribute start_tls terminal_result_attribute timeout " +
		"tls_ca_cert_dir tls_ca_cert_file tls_cert tls_cipher_suite tls_key tls_random_file tls_require_cert version",
	"mysql": "additional_conditions dbname domain expansion_limit hosts option_file option_group password query " +
		"require_result_set result_format select_field table tls_CAfile tls_CApath tls_cert_file tls_ciphers " +
		"tls_key_file tls_verify_cert user where_field",
	"pgsql": "additional_conditions dbname domain expansion_limit hosts password query result_format select_field " +
		"select_function table user where_field",
	"sqlite": "additional_conditions dbpath domain expansion_limit query result_format select_field table where_field",
	"memcache": "backup data_size_limit domain flags key_format line_size_limit max_try memcache retry_pause " +
		"timeout ttl",
}

// dbmsTables returns the database client tables that values name, as
// (type, name) pairs, each once, in order; "proxy:" wrappers are looked
// through.
func dbmsTables(values []string) [][2]string {
	seen := map[string]bool{}
	var out [][2]string
	for _, v := range values {
		for _, tok := range strings.FieldsFunc(v, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == '{' || r == '}'
		}) {
			for strings.HasPrefix(tok, "proxy:") {
				tok = tok[len("proxy:"):]
			}
			typ, name, ok := strings.Cut(tok, ":")
			if !ok || name == "" || dbmsSuffixes[typ] == "" || seen[tok] {
				continue
			}
			seen[tok] = true
			out = append(out, [2]string{typ, name})
		}
	}
	return out
}

// addDbmsParams registers legacy-style database parameters set in main.cf
// and checks database configuration files for settings their client does
// not know.
func (t *table) addDbmsParams(values []string) {
	for _, tn := range dbmsTables(values) {
		typ, name := tn[0], tn[1]
		suffixes := map[string]bool{}
		for _, s := range strings.Fields(dbmsSuffixes[typ]) {
			suffixes[s] = true
		}
		if !strings.HasPrefix(name, "/") {
			for s := range suffixes {
				p := name + "_" + s
				if _, set := t.explicit[p]; set {
					if _, builtin := t.known[p]; !builtin {
						t.known[p] = known{class: classUser}
					}
				}
			}
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			msg.Warn("open \"%s\" configuration \"%s\": %s", typ, name, errText(err))
			continue
		}
		f, err := conf.ParseMain(name, data)
		if err != nil {
			msg.Fatal("%v", err)
		}
		seen := map[string]bool{}
		for _, e := range f.Entries {
			if !suffixes[e.Name] && !seen[e.Name] {
				seen[e.Name] = true
				v, _ := f.Value(e.Name)
				msg.Warn("%s:%s: unused parameter: %s=%s", typ, name, e.Name, v)
			}
		}
	}
}
