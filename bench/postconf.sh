#!/bin/sh
# postconf -n and postconf -d as whole processes, ours beside Debian's, on
# Debian's stock configuration. Target: no slower than Postfix.
set -e
cd "$(dirname "$0")/.."
. bench/lib.sh
REF=/usr/sbin/postconf
OURS=bin/postconf
[ -x "$REF" ] || { echo "bench/postconf.sh: $REF missing (run make test as root once)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp postconf/testdata/debian/main.cf postconf/testdata/debian/master.cf "$dir/"
N=${N:-200}
for mode in -n -d; do
	"$REF" -c "$dir" $mode >"$dir/ref.out" 2>/dev/null
	"$OURS" -c "$dir" $mode >"$dir/ours.out" 2>/dev/null
	if ! cmp -s "$dir/ref.out" "$dir/ours.out"; then
		# process_id differs by nature; everything else must agree.
		grep -v '^process_id = ' "$dir/ref.out" >"$dir/a"; grep -v '^process_id = ' "$dir/ours.out" >"$dir/b"
		cmp -s "$dir/a" "$dir/b" || echo "WARNING: postconf $mode output differs from Postfix's"
	fi
	r=$(time_loop "$N" "$REF" -c "$dir" $mode)
	o=$(time_loop "$N" "$OURS" -c "$dir" $mode)
	report "postconf $mode (mean of $N runs)" "$r" "$o" ms
done
