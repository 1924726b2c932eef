#!/bin/sh
# Messages per second from sendmail to Maildir delivery: the same private
# configuration (internal/devconf) for Debian's Postfix 3.7 and for ours,
# N messages handed in by P parallel sendmail loops, timed from the first
# submission until the log shows the last delivery. Target: at least
# Postfix's rate. Needs root (Postfix's daemons drop to the postfix user).
# To see where our daemons spend their time, add PFGO_CPUPROFILE=DIR to
# import_environment in main.cf: each daemon then writes a Go CPU profile
# to DIR (see internal/server/profile.go).
set -e
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-800}
P=${P:-4}
[ -x /usr/lib/postfix/sbin/master ] || { echo "bench/flow.sh: Debian's Postfix missing (run make test as root once)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/flow.sh: needs root to run Debian's Postfix beside ours; skipped"; exit 0; }
top=$(mktemp -d /tmp/pfgo-bench-flow.XXXXXX)
chmod 755 "$top"
cleanup() {
	for s in ref ours; do
		[ -f "$top/$s/etc/main.cf" ] || continue
		MAIL_CONFIG="$top/$s/etc" "$(postfix_of "$s")" -c "$top/$s/etc" stop >/dev/null 2>&1 || true
	done
	rm -rf "$top"
}
trap cleanup EXIT
postfix_of() { if [ "$1" = ref ]; then echo /usr/sbin/postfix; else echo "$PWD/bin/postfix"; fi; }
sendmail_of() { if [ "$1" = ref ]; then echo /usr/sbin/sendmail; else echo "$PWD/bin/sendmail"; fi; }

# run_one NAME: prints messages per second.
run_one() {
	s=$1; base="$top/$s"
	flag=; [ "$s" = ref ] && flag=-reference
	etc=$(bin/devrun -setup $flag -base "$base" -bin "$PWD/bin" -main "service_throttle_time = 2s")
	mkdir -p "$base/out"; chmod 777 "$base/out"
	printf 'postmaster: root\nbench: %s/out/Maildir/\n' "$base" >"$etc/aliases"
	if [ "$s" = ref ]; then /usr/sbin/postalias "$etc/aliases"; else bin/postalias "$etc/aliases"; fi
	touch -d '1 hour ago' "$etc/main.cf" "$etc/master.cf"
	"$(postfix_of "$s")" -c "$etc" start >/dev/null 2>&1
	i=0; while ! grep -q 'daemon started' "$base/maillog" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench/flow.sh: $s did not start" >&2; exit 1; }; sleep 0.05
	done
	msg="Subject: bench\n\n$(head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 70)\n"
	sm=$(sendmail_of "$s")
	t0=$(now_ns)
	p=0; while [ $p -lt "$P" ]; do
		( j=0; while [ $j -lt $((N / P)) ]; do printf "$msg" | MAIL_CONFIG="$etc" "$sm" bench; j=$((j + 1)); done ) &
		p=$((p + 1))
	done
	wait
	want=$(( (N / P) * P ))
	i=0; while [ "$(grep -c 'status=sent (delivered to maildir)' "$base/maillog")" -lt "$want" ]; do
		i=$((i + 1)); [ $i -gt 6000 ] && { echo "bench/flow.sh: $s delivered $(grep -c 'status=sent' "$base/maillog") of $want" >&2; exit 1; }
		sleep 0.01
	done
	t1=$(now_ns)
	got=$(ls "$base/out/Maildir/new" | wc -l)
	[ "$got" -eq "$want" ] || echo "WARNING: $s Maildir holds $got messages, expected $want" >&2
	"$(postfix_of "$s")" -c "$etc" stop >/dev/null 2>&1 || true
	awk -v a="$t0" -v b="$t1" -v n="$want" 'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }'
}
r=$(run_one ref)
o=$(run_one ours)
printf '%-44s postfix %10s %-3s  ours %10s %-3s  ours/postfix x%s\n' \
	"sendmail -> Maildir, $N msgs, $P senders" "$r" "msg/s" "$o" "msg/s" "$(ratio "$o" "$r")"
