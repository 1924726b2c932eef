#!/bin/sh
# Runs every benchmark script in bench/ (each compares this project with
# Debian's Postfix 3.7 in the same run and prints ratios).
set -e
cd "$(dirname "$0")/.."
for b in bench/*.sh; do
	[ "$b" = bench/run.sh ] && continue
	[ "$b" = bench/lib.sh ] && continue
	echo "== $b"
	sh "$b"
done
