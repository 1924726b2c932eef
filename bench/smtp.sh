#!/bin/sh
# SMTP reception, side by side with Debian's Postfix 3.7 on the same private
# configuration (internal/devconf) and the discard transport:
#   1. accept rate: Postfix's smtp-source, S parallel sessions, N messages of
#      4 KB, one connection per message; every 250 comes after cleanup has
#      fsynced the queue file, in both servers (equal durability);
#   2. idle sessions: IDLE clients connect, say EHLO and wait; memory is the
#      sum of the PSS (and RSS) of the smtpd processes, per session.
#      Postfix runs one process per session, so it is measured with
#      IDLE_REF sessions (its maxproc), ours with IDLE.
# Targets (issue 5): accept rate at least 3x Postfix's; 10,000 concurrent
# sessions under 300 MB. Needs root (Postfix's daemons drop to postfix).
set -e
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-3000}
S=${S:-20}
IDLE=${IDLE:-10000}
IDLE_REF=${IDLE_REF:-200}
[ -x /usr/lib/postfix/sbin/master ] || { echo "bench/smtp.sh: Debian's Postfix missing (run make test as root once)"; exit 1; }
[ -x /usr/sbin/smtp-source ] || { echo "bench/smtp.sh: smtp-source missing (Debian's postfix package)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/smtp.sh: needs root to run Debian's Postfix beside ours; skipped"; exit 0; }
[ -x bin/smtpd ] || { echo "bench/smtp.sh: bin/smtpd not built; skipped"; exit 0; }
ulimit -n 65536 2>/dev/null || ulimit -n 30000 2>/dev/null || true
top=$(mktemp -d /tmp/pfgo-bench-smtp.XXXXXX)
chmod 755 "$top"
cleanup() {
	pkill -f "$top/idle.py" 2>/dev/null || true
	for s in ref ours; do
		[ -f "$top/$s/etc/main.cf" ] || continue
		"$(postfix_of "$s")" -c "$top/$s/etc" stop >/dev/null 2>&1 || true
	done
	rm -rf "$top"
}
trap cleanup EXIT
postfix_of() { if [ "$1" = ref ]; then echo /usr/sbin/postfix; else echo "$PWD/bin/postfix"; fi; }

# free_port prints a loopback TCP port nobody listens on.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME MAXPROC: lays out and starts a system whose smtpd listens on a
# free port; prints the port.
start() {
	s=$1; base="$top/$s"
	flag=; [ "$s" = ref ] && flag=-reference
	etc=$(bin/devrun -setup $flag -base "$base" -bin "$PWD/bin" -main "service_throttle_time = 2s
mydestination = bench.test
mynetworks = 127.0.0.0/8
local_transport = discard
default_transport = discard
local_recipient_maps =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = $2")
	port=$(free_port)
	printf '127.0.0.1:%s inet n - n - %s smtpd\n' "$port" "$2" >>"$etc/master.cf"
	touch -d '1 hour ago' "$etc/main.cf" "$etc/master.cf"
	"$(postfix_of "$s")" -c "$etc" start >/dev/null 2>&1
	i=0; while ! grep -q 'daemon started' "$base/maillog" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench/smtp.sh: $s did not start" >&2; exit 1; }; sleep 0.05
	done
	echo "$port"
}

stop() { "$(postfix_of "$1")" -c "$top/$1/etc" stop >/dev/null 2>&1 || true; sleep 0.5; }

# accept NAME: prints messages accepted per second.
accept() {
	port=$(start "$1" 100)
	/usr/sbin/smtp-source -s 20 -l 4096 -m 200 -f a@bench.test -t b@bench.test "127.0.0.1:$port" >/dev/null 2>&1 # warm-up
	t0=$(now_ns)
	/usr/sbin/smtp-source -s "$S" -l 4096 -m "$N" -f a@bench.test -t b@bench.test "127.0.0.1:$port" >"$top/$1.out" 2>&1 ||
		{ echo "bench/smtp.sh: smtp-source against $1 failed:" >&2; cat "$top/$1.out" >&2; exit 1; }
	t1=$(now_ns)
	stop "$1"
	awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }'
}

cat >"$top/idle.py" <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    f = c.makefile("rb")
    if not f.readline().startswith(b"220"):
        sys.exit("no banner")
    c.sendall(b"EHLO idle.test\r\n")
    while True:
        l = f.readline()
        if not l or l[3:4] == b" ":
            break
    conns.append((c, f))
print("ready", flush=True)
time.sleep(3600)
EOF

# idle NAME SESSIONS: prints "PSS_KB RSS_KB" summed over the smtpd processes
# while SESSIONS clients sit idle after EHLO.
idle() {
	port=$(start "$1" "$2")
	: >"$top/idle.$1"
	python3 "$top/idle.py" "$port" "$2" >"$top/idle.$1" 2>&1 &
	i=0; while ! grep -q ready "$top/idle.$1"; do
		i=$((i + 1)); [ $i -gt 1200 ] && { echo "bench/smtp.sh: idle clients did not connect to $1: $(cat "$top/idle.$1")" >&2; exit 1; }; sleep 0.1
	done
	sleep 1
	pss=0; rss=0
	for p in $(pgrep -f "^smtpd .*-t inet" || true); do
		[ -r "/proc/$p/smaps_rollup" ] || continue
		grep -q "$top/$1" "/proc/$p/environ" 2>/dev/null || continue
		pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
		rss=$((rss + $(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup")))
	done
	pkill -f "$top/idle.py" || true
	stop "$1"
	echo "$pss $rss"
}

r=$(accept ref)
o=$(accept ours)
printf '%-44s postfix %10s %-5s  ours %10s %-5s  ours/postfix x%s\n' \
	"smtp-source $S sessions, $N x 4 KB, discard" "$r" "msg/s" "$o" "msg/s" "$(ratio "$o" "$r")"
set -- $(idle ref "$IDLE_REF")
rp=$1 rr=$2
set -- $(idle ours "$IDLE")
op=$1 or=$2
rps=$(awk -v m="$rp" -v n="$IDLE_REF" 'BEGIN { printf "%.1f", m / n }')
ops=$(awk -v m="$op" -v n="$IDLE" 'BEGIN { printf "%.1f", m / n }')
printf '%-44s postfix %10s %-5s  ours %10s %-5s  postfix/ours x%s\n' \
	"idle session memory (PSS per session)" "$rps" "KB" "$ops" "KB" "$(ratio "$rps" "$ops")"
printf '%-44s postfix %10s %-5s  ours %10s %-5s\n' \
	"idle sessions held: total PSS / RSS" "$((rp / 1024))/$((rr / 1024))" "MB" "$((op / 1024))/$((or / 1024))" "MB"
printf '%-44s postfix %10s %-5s  ours %10s %-5s\n' "idle sessions held" "$IDLE_REF" "" "$IDLE" ""
