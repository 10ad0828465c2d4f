#!/usr/bin/env bash
# Measures how checks/logs reads error logs, on generated logs in a temp dir:
#   - the 15-minute window of a 1 GB log against that of a 10 MB log that
#     ends with the same 15 minutes (target: within 1.5x: the cost follows
#     the window, not the file);
#   - --since all on the 1 GB log against `grep -c -F upstream` (target:
#     within 2x);
#   - peak RSS of --since all on 1 GB (target: under 128 MiB).
# Both logs are in the page cache first, so this compares CPU, not the disk.
# Each timing is the best of RUNS runs (default 3): other work on the host
# only ever makes a run slower. SIZE_MB (default 1024) sets the big log's size.
# Exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
size_mb=${SIZE_MB:-1024}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngxdoctor-bench-logs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/benchlog" ./checks/logs/internal/benchlog
echo "generating logs in $tmp ..."
"$tmp/benchlog" gen 10 "$tmp/small.log"
"$tmp/benchlog" gen "$size_mb" "$tmp/big.log"
cat "$tmp/small.log" "$tmp/big.log" >/dev/null

# best CMD...: the lowest wall time, in seconds, of $runs runs.
best() {
	local b="" s e
	for _ in $(seq "$runs"); do
		s=$(date +%s.%N)
		# Not >/dev/null: GNU grep sees it and stops at the first match.
		"$@" >"$tmp/out"
		e=$(date +%s.%N)
		b=$(awk -v s="$s" -v e="$e" -v b="$b" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; printf "%.3f", b }')
	done
	echo "$b"
}

# peak_mib CMD...: the peak RSS of one run, in MiB.
peak_mib() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null
		awk '{ printf "%.0f", $1 / 1024 }' "$tmp/rss"
	else
		# Without GNU time: the Go heap the program asked the OS for.
		"$@" | sed -n 's/.*heap_sys_mib=\([0-9]*\).*/\1/p'
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
check() { # check NAME VALUE LIMIT: ok when VALUE <= LIMIT
	if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v <= l) }'; then
		printf '  %-44s %8s  (target <= %s) ok\n' "$1" "$2" "$3"
	else
		printf '  %-44s %8s  (target <= %s) MISSED\n' "$1" "$2" "$3"
		missed=1
	fi
}

missed=0
big_mib=$(( $(stat -c %s "$tmp/big.log") >> 20 ))
small_mib=$(( $(stat -c %s "$tmp/small.log") >> 20 ))

w_small=$(best "$tmp/benchlog" read 15m "$tmp/small.log")
w_big=$(best "$tmp/benchlog" read 15m "$tmp/big.log")
all_big=$(best "$tmp/benchlog" read all "$tmp/big.log")
grep_big=$(best grep -c -F upstream "$tmp/big.log")
rss_all=$(peak_mib "$tmp/benchlog" read all "$tmp/big.log")
rss_win=$(peak_mib "$tmp/benchlog" read 15m "$tmp/big.log")

echo
echo "checks/logs on $(nproc) CPUs, best of $runs runs, logs in the page cache"
printf '  %-44s %8ss\n' "window 15m, ${small_mib} MiB log" "$w_small"
printf '  %-44s %8ss\n' "window 15m, ${big_mib} MiB log" "$w_big"
printf '  %-44s %8ss\n' "--since all, ${big_mib} MiB log" "$all_big"
printf '  %-44s %8ss\n' "grep -c -F upstream, ${big_mib} MiB log" "$grep_big"
printf '  %-44s %8s MiB\n' "peak RSS, window 15m, ${big_mib} MiB log" "$rss_win"
"$tmp/benchlog" read all "$tmp/big.log" | sed 's/^/  all: /'
echo
check "window: big log / small log" "$(ratio "$w_big" "$w_small")" 1.5
check "--since all / grep -c -F upstream" "$(ratio "$all_big" "$grep_big")" 2
check "peak RSS of --since all (MiB)" "$rss_all" 128
exit "$missed"
