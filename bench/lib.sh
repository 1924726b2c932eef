# Shared helpers for bench/*.sh (POSIX sh). Source it from the repo top.

# now_ns prints the current time in nanoseconds.
now_ns() { date +%s%N; }

# time_loop N CMD... runs CMD N times (output discarded) and prints the
# mean milliseconds per run with two decimals.
time_loop() {
	_n=$1; shift
	_t0=$(now_ns)
	_i=0
	while [ $_i -lt "$_n" ]; do
		"$@" >/dev/null 2>&1
		_i=$((_i + 1))
	done
	_t1=$(now_ns)
	awk -v a="$_t0" -v b="$_t1" -v n="$_n" 'BEGIN { printf "%.2f", (b - a) / n / 1e6 }'
}

# time_once CMD... runs CMD once and prints the seconds it took.
time_once() {
	_t0=$(now_ns)
	"$@"
	_t1=$(now_ns)
	awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

# ratio A B prints A/B with two decimals ("n/a" when B is zero).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# report WHAT POSTFIX OURS UNIT: one aligned line; speedup = postfix/ours.
report() {
	printf '%-44s postfix %10s %-3s  ours %10s %-3s  speedup x%s\n' "$1" "$2" "$4" "$3" "$4" "$(ratio "$2" "$3")"
}
