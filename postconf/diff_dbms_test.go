package postconf_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Database client tables: legacy-style parameters in main.cf ("ldap:src"
// with src_server_host ...) are known, and settings in a client's
// configuration file that it does not know are unused parameters.
func TestDiffDatabaseClients(t *testing.T) {
	// Every suffix a client might know, and some it does not.
	suffixes := "bind bind_dn bind_pw cache cache_expiry cache_size chase_referrals debuglevel dereference domain " +
		"expansion_limit leaf_result_attribute query_filter recursion_limit result_attribute result_filter " +
		"result_format sasl_authz_id sasl_mechs sasl_minssf sasl_realm scope search_base server_host server_port " +
		"size_limit special_result_attribute start_tls terminal_result_attribute timeout tls_ca_cert_dir " +
		"tls_ca_cert_file tls_cert tls_cipher_suite tls_key tls_random_file tls_require_cert version " +
		"additional_conditions dbname hosts option_file option_group password query require_result_set " +
		"select_field table tls_CAfile tls_CApath tls_cert_file tls_ciphers tls_key_file tls_verify_cert user " +
		"where_field select_function dbpath backup data_size_limit flags key_format line_size_limit max_try " +
		"memcache retry_pause ttl bogus uri collection port host"
	for _, typ := range []string{"ldap", "mysql", "pgsql", "sqlite", "memcache", "mongodb", "hash"} {
		var b strings.Builder
		fmt.Fprintf(&b, "virtual_alias_maps = proxy:%s:src\n", typ)
		for _, s := range strings.Fields(suffixes) {
			fmt.Fprintf(&b, "src_%s = 1\n", s)
		}
		mc := b.String()
		d := confDir(t, &mc, ptr(""))
		diffCase(t, d, "-c", "@DIR@", "-n")
		diffCase(t, d, "-c", "@DIR@", "src_server_host", "src_hosts", "src_timeout", "src_bogus")
	}
	d := t.TempDir()
	cf := map[string]string{
		"mysql.cf": "hosts = db\nuser = u\npassword = p\ndbname = mail\nquery = SELECT x FROM y WHERE z='%s'\nbogus = 1\n",
		"ldap.cf":  "server_host = ldap.example\nsearch_base = dc=example\nfoo = 2\n",
		"pgsql.cf": "# comment\nhosts = db\n  continued\nselect_function = f\n",
	}
	for name, text := range cf {
		os.WriteFile(filepath.Join(d, name), []byte(text), 0644)
	}
	mc := fmt.Sprintf("virtual_alias_maps = mysql:%[1]s/mysql.cf, proxy:ldap:%[1]s/ldap.cf\n"+
		"smtpd_client_restrictions = check_client_access pgsql:%[1]s/pgsql.cf, check_sender_access sqlite:%[1]s/missing.cf\n"+
		"relay_domains = mysql:%[1]s/mysql.cf\n", d)
	masterCF := fmt.Sprintf("submission inet n - y - - smtpd\n  -o smtpd_sender_restrictions=check_sender_access,memcache:%s/mc.cf\n", d)
	dd := confDir(t, &mc, &masterCF)
	diffCase(t, dd, "-c", "@DIR@", "-n")
	diffCase(t, dd, "-c", "@DIR@", "mail_name")
	diffCase(t, dd, "-c", "@DIR@", "-d", "mail_name")
}
