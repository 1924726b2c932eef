#!/bin/sh
# Pattern tables (regexp, pcre, cidr): this project's postmap against
# Debian's Postfix 3.7 in the same run, on the same generated tables and
# keys. Answers are compared (they must be identical) and speedups printed:
#   - a 1,000-rule regexp table and the same rules as pcre, 100,000 addresses
#   - a 10,000-rule cidr table, 100,000 IPv4 addresses
# Uses bin/postmap (or $PFGO_POSTMAP) when it exists, otherwise a query harness
# built from maptypes' tests. Run from the repository top.
set -e
. bench/lib.sh

ref=/usr/sbin/postmap
[ -x "$ref" ] || { echo "patterns.sh: $ref is missing (run test/deps.sh)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Inputs, from the same generators the differential tests use.
PFGO_PATTERN_BENCH_DIR=$work go test -count=1 -run '^TestPatternBenchFiles$' ./maptypes >/dev/null
cp "$work/regexp.tbl" "$work/pcre.tbl"

pm=${PFGO_POSTMAP:-bin/postmap}
if [ -x "$pm" ]; then
	ours() { "$pm" -q - "$1" < "$2" > "$3" 2>/dev/null; }
	how=$pm
else
	go test -c -o "$work/maptypes.test" ./maptypes
	ours() { PFGO_PATTERN_QUERY=$1 "$work/maptypes.test" -test.run '^TestPatternQueryTool$' < "$2" 2>/dev/null | grep -v '^PASS$' > "$3"; }
	how="maptypes test harness (bin/postmap not built)"
fi
echo "ours: $how"

run() { # TYPE TABLE KEYS
	t_ref=$(time_once sh -c "$ref -q - $1:$work/$2 < $work/$3 > $work/ref.out 2>/dev/null || true")
	t_our=$(time_once ours "$1:$work/$2" "$work/$3" "$work/our.out")
	if ! cmp -s "$work/ref.out" "$work/our.out"; then
		echo "patterns.sh: $1 answers differ:"
		diff "$work/ref.out" "$work/our.out" | head -5
		exit 1
	fi
	n=$(wc -l < "$work/our.out")
	report "$1: $(grep -vc '^#\|^if \|^endif' "$work/$2") rules, $(wc -l < "$work/$3") keys ($n found)" "$t_ref" "$t_our" s
}

run regexp regexp.tbl addrs
run pcre pcre.tbl addrs
run cidr cidr.tbl ips
