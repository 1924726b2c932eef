#!/bin/sh
# CPU time per message of each daemon while mail arrives by SMTP and is
# delivered to the discard transport: the load of bench/smtp.sh
# (Postfix's smtp-source, S parallel sessions, N messages of 4 KB, one
# connection per message), measured per process name instead of as a rate.
#
#   sh bench/cpu.sh                 ours and Debian's Postfix
#   SIDES=ours sh bench/cpu.sh      ours only (RUNS=3 repeats it)
#   PROFILE=DIR SIDES=ours sh bench/cpu.sh
#                                   also a Go CPU profile of each of our
#                                   daemons in DIR/NAME.PID.prof (see
#                                   internal/server/profile.go)
#
# How: every process of the mail system is kept in a cgroup (v1 cpuacct)
# named after its command: the system starts inside one group, and a
# small poller moves each new process (every POLL seconds) into the group
# of its /proc/PID/comm; a cgroup keeps the CPU time of processes that
# have exited. The script sends 200 messages to warm up, waits until they
# are delivered ("QUEUEID: removed" in the log), reads every group's
# cpuacct.usage, sends N messages, waits until those are delivered too,
# and reads again. Printed: microseconds of CPU (user + system) per
# message for each command, and the total. The start-up of a new process
# counts for its parent (master) until the poller has moved it, at most
# POLL seconds: the line "(spawn)" is that part (master's group less
# master's own time from /proc), mostly the start-up of new daemon
# processes (each daemon exits after max_use = 100 clients, as Postfix's
# do). smtp-source and the poller itself are not counted. Needs root
# (cgroups, and Debian's daemons drop to postfix).
#
# The figures move with the machine's load (by a tenth on a busy one):
# to compare two builds, run them alternately, several times each (each
# build's copy of this script measures its own bin/).
set -e
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-2000}
S=${S:-20}
RUNS=${RUNS:-1}
POLL=${POLL:-0.003}
SIDES=${SIDES:-ref ours}
CGROOT=/sys/fs/cgroup/cpuacct
[ "$(id -u)" = 0 ] || { echo "bench/cpu.sh: needs root (cgroups); skipped"; exit 0; }
[ -w "$CGROOT" ] || { echo "bench/cpu.sh: no writable cgroup v1 cpuacct hierarchy at $CGROOT; skipped"; exit 0; }
[ -x /usr/sbin/smtp-source ] || { echo "bench/cpu.sh: smtp-source missing (Debian's postfix package)"; exit 1; }
[ -x bin/smtpd ] || { echo "bench/cpu.sh: bin/smtpd not built (make build)"; exit 1; }
ulimit -n 65536 2>/dev/null || true
top=$(mktemp -d /tmp/pfgo-bench-cpu.XXXXXX)
chmod 755 "$top"
poller=
cur=
cg=
finish() {
	[ -n "$poller" ] && kill "$poller" 2>/dev/null || true
	[ -n "$cur" ] && "$(postfix_of "$cur")" -c "$top/$cur/etc" stop >/dev/null 2>&1 || true
	[ -n "$cg" ] && rmcg "$cg"
	rm -rf "$top"
}
trap finish EXIT
postfix_of() { if [ "$1" = ref ]; then echo /usr/sbin/postfix; else echo "$PWD/bin/postfix"; fi; }

# rmcg DIR removes a cgroup tree, moving stragglers to the root first.
rmcg() {
	for g in "$1"/*/ "$1"/; do
		[ -f "$g/cgroup.procs" ] || continue
		for p in $(cat "$g/cgroup.procs"); do echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null || true; done
	done
	for g in "$1"/*/; do [ -d "$g" ] && rmdir "$g" 2>/dev/null || true; done
	rmdir "$1" 2>/dev/null || true
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cat >"$top/poll.py" <<'EOF'
# Moves each process of the groups under sys.argv[1] into the group named
# after its command, until killed.
import os, sys, time
root, every = sys.argv[1], float(sys.argv[2])
while True:
    for g in os.listdir(root):
        d = os.path.join(root, g)
        if not os.path.isdir(d):
            continue
        try:
            pids = open(os.path.join(d, "cgroup.procs")).read().split()
        except OSError:
            continue
        for p in pids:
            try:
                name = open("/proc/%s/comm" % p).read().strip().replace("/", "_") or "unknown"
            except OSError:
                continue
            if name == g:
                continue
            t = os.path.join(root, name)
            try:
                os.makedirs(t, exist_ok=True)
                with open(os.path.join(t, "cgroup.procs"), "w") as f:
                    f.write(p)
            except OSError:
                pass
    time.sleep(every)
EOF

# usage SIDE prints "NAME NANOSECONDS" for each group; the master group
# is split into master's own time (from /proc) and "(spawn)", the time of
# new processes before the poller moved them.
usage() {
	mpid=$(tr -d ' \n' <"$top/$1/queue/pid/master.pid" 2>/dev/null)
	own=0
	[ -n "$mpid" ] && [ -r "/proc/$mpid/stat" ] &&
		own=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f", ($12 + $13) * 1e9 / hz }' "/proc/$mpid/stat")
	for g in "$cg"/*/; do
		[ -f "$g/cpuacct.usage" ] || continue
		n=$(basename "$g") u=$(cat "$g/cpuacct.usage")
		if [ "$n" = master ]; then
			echo "master $own"
			echo "(spawn) $((u - own))"
		else
			echo "$n $u"
		fi
	done
}

# removed prints how many "QUEUEID: removed" lines the log has.
removed() { grep -c ': removed$' "$top/$1/maillog" 2>/dev/null || true; }

# wait_removed SIDE COUNT waits (at most 5 minutes) until COUNT messages
# were delivered and removed.
wait_removed() {
	i=0
	while [ "$(removed "$1")" -lt "$2" ]; do
		i=$((i + 1)); [ $i -gt 3000 ] && { echo "bench/cpu.sh: $1: only $(removed "$1") of $2 messages delivered" >&2; exit 1; }
		sleep 0.1
	done
}

# measure SIDE RUN: one run; prints "NAME USEC_PER_MESSAGE" lines.
measure() {
	s=$1; base="$top/$s.$2"
	flag=; [ "$s" = ref ] && flag=-reference
	prof=
	if [ "$s" = ours ] && [ -n "$PROFILE" ]; then
		mkdir -p "$PROFILE"; chmod 1777 "$PROFILE"
		prof="import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME PFGO_CPUPROFILE=$(cd "$PROFILE" && pwd)"
	fi
	etc=$(bin/devrun -setup $flag -base "$base" -bin "$PWD/bin" -main "service_throttle_time = 2s
mydestination = bench.test
mynetworks = 127.0.0.0/8
local_transport = discard
default_transport = discard
local_recipient_maps =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 100
$prof")
	rm -rf "$top/$s"; ln -s "$base" "$top/$s"
	port=$(free_port)
	printf '127.0.0.1:%s inet n - n - 100 smtpd\n' "$port" >>"$etc/master.cf"
	touch -d '1 hour ago' "$etc/main.cf" "$etc/master.cf"
	cg="$CGROOT/pfgo-cpu.$$"
	mkdir -p "$cg/start"
	python3 "$top/poll.py" "$cg" "$POLL" &
	poller=$!
	cur=$s
	sh -c 'echo $$ >"$1/start/cgroup.procs" && exec "$2" -c "$3" start' sh "$cg" "$(postfix_of "$s")" "$etc" >/dev/null 2>&1
	i=0; while ! grep -q 'daemon started' "$base/maillog" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench/cpu.sh: $s did not start" >&2; exit 1; }; sleep 0.05
	done
	/usr/sbin/smtp-source -s 20 -l 4096 -m 200 -f a@bench.test -t b@bench.test "127.0.0.1:$port" >/dev/null 2>&1
	wait_removed "$s" 200
	sleep 0.5
	usage "$s" >"$top/before"
	/usr/sbin/smtp-source -s "$S" -l 4096 -m "$N" -f a@bench.test -t b@bench.test "127.0.0.1:$port" >"$top/out" 2>&1 ||
		{ echo "bench/cpu.sh: smtp-source against $s failed:" >&2; cat "$top/out" >&2; exit 1; }
	wait_removed "$s" $((200 + N))
	sleep 0.5
	usage "$s" >"$top/after"
	"$(postfix_of "$s")" -c "$etc" stop >/dev/null 2>&1 || true
	cur=
	kill "$poller" 2>/dev/null || true
	wait "$poller" 2>/dev/null || true
	poller=
	rmcg "$cg"
	cg=
	awk -v n="$N" 'NR == FNR { b[$1] = $2; next } { d = ($2 - b[$1]) / 1000 / n; if (d >= 1) printf "%s %.0f\n", $1, d }' "$top/before" "$top/after"
	rm -rf "$base"
}

# Runs, then one table: a column per run of each side.
for s in $SIDES; do
	r=1
	while [ $r -le "$RUNS" ]; do
		measure "$s" "$r" | sed "s/^/$s.$r /" >>"$top/all"
		r=$((r + 1))
	done
done
echo "CPU microseconds per message (smtp-source $S sessions, $N x 4 KB, discard)"
awk '
{ col = $1; name = $2; v[name, col] = $3; tot[col] += $3
  if (!(col in seen)) { seen[col] = 1; cols[++nc] = col }
  if (!(name in known)) { known[name] = 1; names[++nn] = name } }
END {
  printf "%-16s", "process"; for (i = 1; i <= nc; i++) printf " %9s", cols[i]; printf "\n"
  for (j = 1; j <= nn; j++) {
    printf "%-16s", names[j]
    for (i = 1; i <= nc; i++) printf " %9s", ((names[j], cols[i]) in v) ? v[names[j], cols[i]] : "-"
    printf "\n"
  }
  printf "%-16s", "total"; for (i = 1; i <= nc; i++) printf " %9s", tot[cols[i]]; printf "\n"
}' "$top/all"
