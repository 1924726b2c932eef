package sasltest

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ask sends one saslauthd request by hand and returns the reply string.
func ask(t *testing.T, socket string, f ...string) string {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b []byte
	for _, s := range f {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		t.Fatal(err)
	}
	r := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, r); err != nil {
		t.Fatal(err)
	}
	return string(r)
}

func TestSaslauthd(t *testing.T) {
	t.Parallel()
	user, pass := AddUser(t)
	s := StartSaslauthd(t, "")
	if r := ask(t, s.Socket, user, pass, "smtp", ""); !strings.HasPrefix(r, "OK") {
		t.Errorf("right password: %q", r)
	}
	if r := ask(t, s.Socket, user, pass+"x", "smtp", ""); !strings.HasPrefix(r, "NO") {
		t.Errorf("wrong password: %q", r)
	}
	s.Stop()
	s.Stop()
	if c, err := net.Dial("unix", s.Socket); err == nil {
		c.Close()
		t.Error("saslauthd still answers after Stop")
	}
}

func TestDovecot(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, map[string]string{"alice": "wonder"}, "")
	for _, addr := range []struct{ network, addr string }{{"unix", d.Socket}, {"tcp", fmt.Sprintf("127.0.0.1:%d", d.Port)}} {
		c, err := net.Dial(addr.network, addr.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "VERSION\t1\t1\nCPID\t%d\n", 1)
		var mechs []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "MECH\t") {
				mechs = append(mechs, strings.Split(strings.TrimSpace(l), "\t")[1])
			}
			if l == "DONE\n" {
				break
			}
		}
		if strings.Join(mechs, " ") != "PLAIN LOGIN" {
			t.Errorf("%s: mechanisms %q", addr.network, mechs)
		}
		for i, tc := range []struct{ pw, want string }{{"wonder", "OK\t1\tuser=alice\n"}, {"nope", "FAIL\t2\tuser=alice\n"}} {
			fmt.Fprintf(c, "AUTH\t%d\tPLAIN\tservice=smtp\tnologin\tresp=%s\n", i+1,
				base64.StdEncoding.EncodeToString([]byte("\x00alice\x00"+tc.pw)))
			t0 := time.Now()
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("%s: %q: answer took %v", addr.network, tc.pw, d)
			}
			if l != tc.want {
				t.Errorf("%s: %q: got %q want %q", addr.network, tc.pw, l, tc.want)
			}
		}
		c.Close()
	}
	d.Stop()
}

// TestSaslauthdInDir: the socket goes where the caller says (a chroot jail's var/run/saslauthd),
// and WriteSmtpdConf names it.
func TestSaslauthdInDir(t *testing.T) {
	t.Parallel()
	user, pass := AddUser(t)
	dir := filepath.Join(shortDir(t, "jail"), "var", "run", "saslauthd")
	s := StartSaslauthd(t, dir)
	if s.Socket != filepath.Join(dir, "mux") {
		t.Errorf("socket %q", s.Socket)
	}
	if r := ask(t, s.Socket, user, pass, "smtp", ""); !strings.HasPrefix(r, "OK") {
		t.Errorf("right password: %q", r)
	}
	p := WriteSmtpdConf(t, t.TempDir(), s.Socket, "plain login")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "pwcheck_method: saslauthd\nmech_list: plain login\nsaslauthd_path: " + s.Socket + "\n"
	if string(b) != want {
		t.Errorf("smtpd.conf %q, want %q", b, want)
	}
}
