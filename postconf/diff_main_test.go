package postconf_test

import (
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// main.cf syntax: continuation, comments, white space, duplicates, errors.
func TestDiffMainSyntax(t *testing.T) {
	for _, mc := range []string{
		"",
		"  leading = x\nfoo = bar\n",
		"foo = bar\n  continued\n# c\n  more\n\nbaz=1\n   \n  after blank\nqux = a  \t\n",
		"foo = bar\n #indented comment\n  x\n",
		"= bar\n",
		"foo bar = x\n",
		"foo=\n",
		"myhostname = a.example\nmyhostname = b.example\n",
		"myhostname = a.example\n\n# x\nmyhostname = b.example\n  c\n",
		"relayhost=[mx.example]:587\r\nmynetworks = 10.0.0.0/8\r\n",
		"relayhost = x", // no final newline
		"smtpd_banner = $myhostname ESMTP\n\tsecond line\n",
		"a = A\nb = $a$a\nsmtpd_banner = $b\n",
		"a = $b\nb = $a\nsmtpd_banner = $a\n",
		"smtpd_restriction_classes = cls1, cls2\ncls1 = permit\ncls3 = x\n",
		"relay_destination_concurrency_limit = 5\nmytrans_delivery_slot_cost = 3\nsubmission_foo = 1\n",
		"foo = $z\nsmtpd_banner = $u ${v?x} $(w:y)\n",
		"alias_maps = hash:/etc/aliases, nis:mail.aliases\nmydestination = $myhostname, localhost.$mydomain, localhost\n",
		"x\n",
		"# only a comment\n",
		"\n\n\n",
		"a=b=c\nsmtpd_banner=$a\n",
	} {
		d := confDir(t, &mc, ptr("smtp inet n - y - - smtpd\nrelay unix - - n - - smtp\n"))
		for _, args := range [][]string{{}, {"-n"}, {"-nx"}, {"-x", "smtpd_banner", "relayhost"}, {"-d", "relayhost"}, {"-nf"}} {
			diffCase(t, d, append([]string{"-c", "@DIR@"}, args...)...)
		}
	}
}

// Expansion forms, each in its own main.cf, expanded through -x.
var expressions = []string{
	`a$-b`, `$`, `x$`, `$$`, `$$$`, `${a}`, `$(a)`, `${a?yes}`, `${a:no}`, `${u?yes}`, `${u:no}`, `${a?{y}:{n}}`,
	`${u?{y}:{n}}`, `${u?{y}:n}`, `${a?{y}}`, `${a:{n}}`, `${{1}=={1}?{t}:{f}}`, `${{1} == {01}?{t}:{f}}`,
	`${{a}<{b}?{t}:{f}}`, `${{10}<{9}?{t}:{f}}`, `${{2}<level{3.6}?{t}:{f}}`, `${{3.6}<=level{3.6}?{t}:{f}}`,
	`${{3.10}>level{3.6}?{t}:{f}}`, `${{3.10}==level{3.10.0}?{t}:{f}}`, `${a`, `${a}b`, `${{1}=={1}?{t}}`,
	`${{1}=={2}:{f}}`, `${{1}=={1}}`, `${ {1} == {1} ? {t} : {f} }`, `$ {a}`, `${a?x}y`, `${a?${b}}`, `${u:$a}`,
	`${a?{x}`, `${a:{x}:{y}}`, `${a?{x}:}`, `$(a?x)`, `${{$a}=={A}?{t}:{f}}`, `${{1}!={2}?{t}:{f}}`,
	`${{1}>={2}?{t}:{f}}`, `${{1}>{2}?{t}:{f}}`, `${{abc}<={abd}?{t}:{f}}`, `${{x}=~{x}?{t}:{f}}`,
	`${{1}={1}?{t}:{f}}`, `${a.b}`, `${a-b}`, `$a.b`, `$u`, `${b}`, `${1}`, `${a?{x} :{y}}`, `${a ?{x}}`,
	`${a?{x}}z`, `${a?{x}{y}}`, `${{1}}`, `${{1}{2}}`, `${{1}==}`, `${{1}=={2} ?{t}}`, `${{$u}=={}?{empty}:{no}}`,
	`${{a}==level{b}?{t}:{f}}`, `${{x}!=level{3}?{t}:{f}}`, `{a}`, `${a}}`, `${a?}`, `${a:}`, `${a?{}}`, `$(a}`,
	`${a)`, `${a?{x}:{y}:{z}}`, `${a?{{x}}}`, `${a?{x}y}`, `${a?x{y}}`, `${a?(x)}`, `${a?{x}:y}`, `$(a?{b}:{c})`,
	`${{1}<level{1.0}?{t}:{f}}`, `${{1.a}<level{1.b}?{t}:{f}}`, `${{}<level{1}?{t}:{f}}`, `${{2}>level{10}?{t}:{f}}`,
	`${{ 1 }=={1}?{t}:{f}}`, `${{abcdefghijklmnop}=~{x}?{t}:{f}}`, `${abcdefghijklmnopqrstuvwxyz.b}`,
	`${a?{abcdefghijklmnopqrst}{y}}`, `${a:{abcdefghijklmnopqrst}:{y}}`, `${{abcdefghijklmnop} != }`,
	`${{abcdefghijklmnop} !=level}`, `${{1}=={1}:{f}}`, `${{1}=={2}}`, `${ a }`, `${a ? x}`, `${a?x }`,
	`${a?{x}: {y} }`, `${u?{x} : y z }`, `${a? {x} }`, `${a?{x} }`, `$(a?{x}:(y))`, `${a?$(b)}`, `${a?{$b}:{c}}`,
	`${a:{$b}}`, `${{$$}=={$}?{t}:{f}}`, `${{a}>{B}?{t}:{f}}`, `${{12}>{9a}?{t}:{f}}`, `${{-1}<{1}?{t}:{f}}`,
	`${{ {1} }=={1}?{t}:{f}}`, `${{1}=={1}?t:f}`, `${{1}=={1}?{t}:f}`, `$a$b`, `$aa`, `$A`, `${}`, `$()`,
	`${?x}`, `${:x}`, `${{1}=={1}?{$a}:{$u}}`, `${{1}=={2}?{$u}:{$b}}`, `${u?{$a}}`, `${{1}<=level{1.2.3.4}?{t}}`,
	`${{1.}<level{2}?{t}}`, `${{ 1}<level{2}?{t}}`, `${{1}<level{ 2}?{t}}`, `${{99999999999999999999}>{1}?{t}}`,
	`${{1}<levelx{2}?{t}}`, `${{1}}{2}`, `${a?{x}:{y}`, `${{1}=={1}?{x}:`, `$((a))`, `${{a}}`, `${a}{`,
}

func TestDiffExpansion(t *testing.T) {
	for _, e := range expressions {
		mc := fmt.Sprintf("a = A\nb = $a$a\nt = %s\nsmtpd_banner = $t\n", e)
		d := confDir(t, &mc, ptr(""))
		diffCase(t, d, "-c", "@DIR@", "-xh", "smtpd_banner")
		diffCase(t, d, "-c", "@DIR@", "-n")
	}
}

// Editing main.cf: -e, -X, -#.
func TestDiffEdit(t *testing.T) {
	type c struct {
		mc   string
		args []string
	}
	for _, k := range []c{
		{"a = 1\nb = 2\na = 3\n", []string{"-e", "a=x"}},
		{"a = 1\n  cont\n# comment\n  cont2\nb = 2\n", []string{"-e", "a=x", "c = y z ", "b= "}},
		{"a = 1\n  cont\n# comment\n  cont2\nb = 2", []string{"-X", "a", "b", "zz"}},
		{"a = 1\n  cont\n# comment\n  cont2\nb = 2\n", []string{"-#", "a", "b"}},
		{"#a = 1\n a = 2\n\n", []string{"-e", "a=x"}},
		{"a=1\n", []string{"-e", "a=x", "a=y"}},
		{"a=1\r\nb=2\n", []string{"-e", "b=x"}},
		{"a=1\r\nb=2\r\n", []string{"-e", "a=x"}},
		{"", []string{"-e", "a=$b {x}"}},
		{"a = 1\n", []string{"-e", "a=multi\nline"}},
		{"a = 1\n", []string{"-e", "a"}},
		{"a = 1\n", []string{"-e", "=b"}},
		{"a = 1\n", []string{"-X", "a=b"}},
		{"a = 1\n", []string{"-#", "a=b"}},
		{"bad line\na = 1\n", []string{"-e", "a=2"}},
		{"  leading\na = 1\n  x\n", []string{"-e", "a=2"}},
		{"a = 1\n\t\n  x\n", []string{"-X", "a"}},
		{"myhostname = mail.example.com\nmydestination = $myhostname\n", []string{"-e", "myhostname = new.example.com", "inet_interfaces = all"}},
		{"a = 1\n", []string{"-e", "b=2", "-n"}},
		{"a = 1\n# a = 2\n", []string{"-#", "a", "-X", "b"}},
		{"a = 1\n", []string{"-X", " a "}},
	} {
		mc := k.mc
		d := confDir(t, &mc, ptr(""))
		diffCase(t, d, append([]string{"-c", "@DIR@"}, k.args...)...)
	}
	// A missing main.cf.
	d := confDir(t, nil, ptr(""))
	diffCase(t, d, "-c", "@DIR@", "-e", "a=b")
	diffCase(t, d, "-c", "@DIR@", "-n")
	diffCase(t, d, "-c", "@DIR@", "-d", "mail_name")
	d = confDir(t, ptr("a=1\n"), nil)
	diffCase(t, d, "-c", "@DIR@", "-n")
	diffCase(t, d, "-c", "@DIR@", "-e", "b=2")
}

var (
	randN    = flag.Int("postconf.n", 60, "random configurations for TestDiffRandom")
	randSeed = flag.Int64("postconf.seed", 1, "seed for TestDiffRandom")
)

// TestDiffRandom compares both programs on generated main.cf files.
func TestDiffRandom(t *testing.T) {
	r := rand.New(rand.NewSource(*randSeed))
	names := []string{"myhostname", "mydomain", "myorigin", "relayhost", "mynetworks", "mynetworks_style",
		"smtpd_banner", "inet_protocols", "compatibility_level", "relay_domains", "alias_maps",
		"smtpd_recipient_restrictions", "u1", "u2", "u3", "smtpd_restriction_classes", "stress",
		"relay_recipient_limit", "virtual_alias_maps", "mail_name"}
	vals := []string{"x", "", "$myhostname", "${u1}", "$(u2?yes)", "${u3:no}", "a b  c", "host", "subnet",
		"class", "ipv4", "ipv6", "all", "2", "3.6", "0", "${{$compatibility_level}<level{2}?{old}:{new}}",
		"mail.example.com", "example.com", "hash:/etc/aliases, nis:mail", "u1, u2",
		"permit_mynetworks reject_unauth_destination check_client_access hash:/etc/postfix/access",
		strings.Repeat("word ", 30), "yes", "$$", "${u1?{$u2}:{$u3}}"}
	for i := 0; i < *randN; i++ {
		var b strings.Builder
		for n := r.Intn(8); n >= 0; n-- {
			fmt.Fprintf(&b, "%s = %s\n", names[r.Intn(len(names))], vals[r.Intn(len(vals))])
			if r.Intn(6) == 0 {
				fmt.Fprintf(&b, "  %s\n", vals[r.Intn(len(vals))])
			}
			if r.Intn(8) == 0 {
				b.WriteString("# comment\n\n")
			}
		}
		mc := b.String()
		d := confDir(t, &mc, ptr("smtp inet n - y - - smtpd\nrelay unix - - n - - smtp\nmytr unix - n n - - pipe\n"))
		modes := [][]string{{"-n"}, {"-nx"}, {"-nf"}, {}, {"-x"}, {"-h", "mynetworks", "myhostname"},
			{"-x", "myhostname", "mydomain", "mynetworks", "myorigin", "u1"}, {"-e", "relayhost=new"}, {"-e", "myhostname = m.example"},
			{"-X", "myhostname", "u1"}, {"-#", "mydomain"}}
		args := append([]string{"-c", "@DIR@"}, modes[r.Intn(len(modes))]...)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			if !diffRun(t, d, nil, args...) {
				t.Logf("main.cf was:\n%s", mc)
			}
		})
	}
}
