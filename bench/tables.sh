#!/bin/sh
# Lookup-table benchmark: builds a 1,000,000-line hash table and a cdb table
# with bin/postmap and Debian's /usr/sbin/postmap side by side, queries
# 100,000 keys (half present) with "postmap -q -" (best of R runs each),
# checks that both give the same answers, and prints time ratios (ours /
# Postfix; below 1 is faster).
# Run from the top of the repository after `make build`.
set -e
OURS=${OURS:-$(pwd)/bin/postmap}
REF=${REF:-/usr/sbin/postmap}
N=${N:-1000000}
Q=${Q:-100000}
[ -x "$OURS" ] || { echo "tables.sh: $OURS missing; run make build" >&2; exit 1; }
[ -x "$REF" ] || { echo "tables.sh: $REF missing" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/tables-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
mkdir "$T/ours" "$T/ref"
for d in ours ref; do
	printf 'compatibility_level = 3.6\nmyhostname = bench.example\n' > "$T/$d/main.cf"
done
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user%d@example%d.com relay:[mx%d.example.net]:25\n", i, i % 977, i % 31 }' > "$T/src"
awk -v n="$N" -v q="$Q" 'BEGIN { srand(42); for (i = 0; i < q; i++) { k = int(rand() * n); if (i % 2) printf "user%d@example%d.com\n", k, k % 977; else printf "absent%d@example.org\n", k } }' > "$T/keys"
cp "$T/src" "$T/ours/src"
cp "$T/src" "$T/ref/src"

# now: seconds since the epoch with nanoseconds (GNU date).
now() { date +%s.%N; }
timeit() { # timeit OUTVAR dir cmd...
	_v=$1; _d=$2; shift 2
	_s=$(now)
	(cd "$_d" && "$@")
	_e=$(now)
	eval "$_v=\$(echo \"\$_e - \$_s\" | bc)"
}
ratio() { echo "scale=2; $1 / $2" | bc; }
report() { printf '%-26s ours %7.3fs  postfix %7.3fs  ratio %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

for typ in hash cdb; do
	timeit to "$T/ours" "$OURS" -c . "$typ:src"
	timeit tr "$T/ref" "$REF" -c . "$typ:src"
	report "build $typ ($N lines)" "$to" "$tr"
	# Queries are short: run them R times, alternating, and keep each
	# side's best time, so that one scheduling hiccup does not decide.
	bo=; br=
	for _r in $(seq "${R:-5}"); do
		timeit qo "$T/ours" sh -c "\"$OURS\" -c . -q - $typ:src < ../keys > ../ours.$typ.out || true"
		timeit qr "$T/ref" sh -c "\"$REF\" -c . -q - $typ:src < ../keys > ../ref.$typ.out || true"
		bo=$(printf '%s\n%s\n' "${bo:-$qo}" "$qo" | sort -g | head -1)
		br=$(printf '%s\n%s\n' "${br:-$qr}" "$qr" | sort -g | head -1)
	done
	report "query $typ ($Q keys, best of ${R:-5})" "$bo" "$br"
	if cmp -s "$T/ours.$typ.out" "$T/ref.$typ.out"; then
		echo "answers $typ: identical ($(wc -l < "$T/ref.$typ.out") found)"
	else
		echo "answers $typ: DIFFER"
		diff "$T/ref.$typ.out" "$T/ours.$typ.out" | head -5
		exit 1
	fi
done
