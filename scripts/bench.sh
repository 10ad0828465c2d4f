#!/usr/bin/env bash
# Measures issue 11's table on this machine and prints each row as a ratio
# against its reference, measured in the same run:
#   - `check --since all` on a 1 GiB error log vs `grep -c -F upstream` on it,
#     its peak RSS, and its occurrences vs grep's count;
#   - `check --since 15m` with 60,000 error lines (16 MiB) in the window vs
#     the same check on an empty log, and its peak RSS;
#   - the 15-minute window of a 1 GiB log vs a 20 MiB log that ends with
#     the same 15 minutes (the read follows the window, not the file);
#   - 1,000 upstream servers, 300 black-holed by an iptables DROP on loopback
#     (one range rule, then a rule per port), vs the probe deadline;
#   - 50,000 server blocks (9 MiB) and a 50 MB config: `check` (which runs
#     `nginx -t` itself) vs `nginx -t` alone, and SIGTERM during the load.
# Every input is generated in a temp dir; the DROP rules match loopback
# ports 21700-21999 only and are removed on exit, Ctrl-C included.
# Files are read once before timing, so the page cache is warm: this
# compares CPU, not the disk. Each time is the best of RUNS runs (default
# 3; the 50 MB config once): other work on the host only makes a run
# slower. Peak RSS is the highest of those runs (wait4's, via /usr/bin/time;
# it includes nginx -t's when check runs it). Exits 1 when a target is missed.
#
# Needs: go, nginx, GNU time (/usr/bin/time); root for the iptables rows
# (skipped otherwise). LOG_MIB (default 1024) sets the big log's size.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
log_mib=${LOG_MIB:-1024}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
tag="ngxdoctor-bench-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngxdoctor-bench.XXXXXX")

# unblock removes every rule this run inserted, found by its comment, so a
# run stopped between two inserts leaves none behind either.
# With no rule left grep finds nothing and exits 1: under set -e and
# pipefail that ended the EXIT trap before the rm below, leaving 2 GiB of
# inputs in /tmp after every run.
unblock() {
	command -v iptables >/dev/null || return 0
	local rule
	{ iptables -w -S INPUT 2>/dev/null || true; } | { grep -F -- "--comment $tag" || true; } | while read -r -a rule; do
		rule[0]=-D
		iptables -w "${rule[@]}" || true
	done
}
cleanup() {
	unblock || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[ -x /usr/bin/time ] || { echo "bench.sh: needs GNU time at /usr/bin/time" >&2; exit 2; }
command -v "$nginx_bin" >/dev/null || { echo "bench.sh: needs nginx" >&2; exit 2; }

echo "building in $tmp ..." >&2
go build -o "$tmp/ngxdoctor" ./cmd/ngxdoctor
go build -o "$tmp/benchgen" ./internal/benchgen
go build -o "$tmp/benchlog" ./checks/logs/internal/benchlog
nd="$tmp/ngxdoctor"

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "generating inputs ..." >&2
for d in small ups s50k big; do mkdir -p "$tmp/$d/tmp"; done
"$tmp/benchgen" servers "$tmp/small" 1 1
"$tmp/benchgen" upstreams "$tmp/ups" 1000 21000
"$tmp/benchgen" servers "$tmp/s50k" 50000 1
"$tmp/benchgen" servers "$tmp/big" 50000 13
"$tmp/benchgen" log "$tmp/all.log" "$log_mib"
"$tmp/benchgen" busy "$tmp/busy.log" 60000
: >"$tmp/empty.log"
"$tmp/benchlog" gen 20 "$tmp/window-small.log"
"$tmp/benchlog" gen "$log_mib" "$tmp/window-big.log"
cat "$tmp"/*.log "$tmp"/*/nginx.conf >/dev/null

# measure N CMD...: runs CMD N times (stdout to $tmp/out, as GNU grep stops
# at the first match when it sees /dev/null) and sets $wall to the best
# wall time, $cpu to the CPU time (user + system, children included) of
# that run and $rss to the highest peak RSS in MiB.
measure() {
	local n=$1 i w m c
	shift
	wall="" rss=0 cpu=""
	for ((i = 0; i < n; i++)); do
		/usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || true
		# A command that exits non-zero gets a "Command exited" line first.
		read -r w m c <<<"$(tail -1 "$tmp/time" | awk '{ print $1, $2, $3 + $4 }')"
		if [ -z "$wall" ] || awk -v w="$w" -v b="$wall" 'BEGIN { exit !(w < b) }'; then
			wall=$(printf '%.3f' "$w") cpu=$(printf '%.2f' "$c")
		fi
		rss=$(awk -v m="$m" -v r="$rss" 'BEGIN { m = m / 1024; printf "%.0f", (m > r ? m : r) }')
	done
}

rows=()
missed=0
# row WHAT MEASURED REFERENCE RESULT TARGET OK
row() {
	rows+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$1" "$2" "$3" "$4" "$5" "$6")")
	[ "$6" = ok ] || [ "$6" = skipped ] || missed=1
}
verdict() { if awk "BEGIN { exit !($1) }"; then echo ok; else echo MISSED; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }


# 1. --since all on the big log vs grep.
echo "1/6 --since all vs grep ..." >&2
measure "$runs" grep -c -F upstream "$tmp/all.log"
grep_s=$wall grep_cpu=$cpu
grep_n=$(cat "$tmp/out")
measure "$runs" "$nd" check --no-color -c "$tmp/small/nginx.conf" --error-log "$tmp/all.log" --since all --format json
all_s=$wall all_rss=$rss all_cpu=$cpu
occ=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(c["occurrences"] for c in r["causes"] if c["target"]=="127.0.0.1:3000"))' "$tmp/out" 2>/dev/null || echo "?")
r=$(ratio "$all_s" "$grep_s")
row "\`check --since all\` on a ${log_mib} MiB error log ($grep_n upstream error lines) vs \`grep -c -F upstream\`" "${all_s} s (CPU ${all_cpu} s)" "${grep_s} s (CPU ${grep_cpu} s)" "${r}×" "≤ 1.5×" "$(verdict "$r <= 1.5")"
row "peak RSS of that run" "${all_rss} MiB" "" "" "≤ 64 MiB" "$(verdict "$all_rss <= 64")"
row "occurrences of that log's one cause (backend-down 127.0.0.1:3000) vs grep's count" "$occ" "$grep_n" "$([ "$occ" = "$grep_n" ] && echo equal || echo differ)" "equal" "$([ "$occ" = "$grep_n" ] && echo ok || echo MISSED)"

# 2. A busy window vs an empty one.
echo "2/6 busy window ..." >&2
measure "$runs" "$nd" check --no-color -c "$tmp/small/nginx.conf" --error-log "$tmp/empty.log" --since 15m --timeout 2s
empty_s=$wall empty_rss=$rss empty_cpu=$cpu
measure "$runs" "$nd" check --no-color -c "$tmp/small/nginx.conf" --error-log "$tmp/busy.log" --since 15m --timeout 2s
busy_s=$wall busy_rss=$rss busy_cpu=$cpu
d=$(awk -v a="$busy_s" -v b="$empty_s" 'BEGIN { printf "%+.3f", a - b }')
busy_mib=$(($(stat -c %s "$tmp/busy.log") >> 20))
row "\`check --since 15m\` with 60,000 error lines (${busy_mib} MiB) in the window vs the same check on an empty log" "${busy_s} s (CPU ${busy_cpu} s), ${busy_rss} MiB" "${empty_s} s (CPU ${empty_cpu} s), ${empty_rss} MiB" "${d} s" "≤ +0.10 s, ≤ 48 MiB" "$(verdict "$d <= 0.10 && $busy_rss <= 48")"

# 3. The window read follows the window, not the file.
echo "3/6 window vs file size ..." >&2
measure "$runs" "$tmp/benchlog" read 15m "$tmp/window-small.log"
ws=$wall
measure "$runs" "$tmp/benchlog" read 15m "$tmp/window-big.log"
wb=$wall
r=$(ratio "$wb" "$ws")
row "the 15-minute window of a ${log_mib} MiB log vs a 20 MiB log ending with the same 15 minutes (checks/logs)" "${wb} s" "${ws} s" "${r}×" "≤ 1.5×" "$(verdict "$r <= 1.5")"

# 4. Black-holed backends.
echo "4/6 black-holed backends ..." >&2
if [ "$(id -u)" = 0 ] && command -v iptables >/dev/null; then
	deadline=2
	iptables -w -I INPUT -i lo -d 127.0.0.1 -p tcp --dport 21700:21999 -m comment --comment "$tag" -j DROP
	measure "$runs" "$nd" check --no-color -c "$tmp/ups/nginx.conf" --error-log "$tmp/empty.log" --timeout ${deadline}s
	one_s=$wall
	unblock
	for p in $(seq 21700 21999); do
		iptables -w -I INPUT -i lo -d 127.0.0.1 -p tcp --dport "$p" -m comment --comment "$tag" -j DROP
	done
	measure "$runs" "$nd" check --no-color -c "$tmp/ups/nginx.conf" --error-log "$tmp/empty.log" --timeout ${deadline}s
	many_s=$wall
	unblock
	for v in "one range rule:$one_s" "a rule per port (300 rules):$many_s"; do
		s=${v##*:}
		over=$(awk -v a="$s" -v b="$deadline" 'BEGIN { printf "%+.2f", a - b }')
		row "1,000 upstream servers, 300 black-holed (DROP, ${v%%:*}), \`--timeout ${deadline}s\`" "${s} s" "${deadline} s (the deadline)" "deadline ${over} s" "≤ deadline + 0.5 s" "$(verdict "$over <= 0.5")"
	done
else
	row "1,000 upstream servers, 300 black-holed (DROP)" "" "" "" "≤ deadline + 0.5 s" "skipped"
	echo "  skipped: the DROP rules need root and iptables" >&2
fi

# 5. 50,000 server blocks.
echo "5/6 50,000 server blocks ..." >&2
measure "$runs" "$nginx_bin" -t -c "$tmp/s50k/nginx.conf"
t50_s=$wall t50_cpu=$cpu
measure "$runs" "$nd" check --no-color -c "$tmp/s50k/nginx.conf" --error-log "$tmp/empty.log" --timeout 2s
c50_s=$wall c50_cpu=$cpu
s50_mib=$(awk -v b="$(stat -c %s "$tmp/s50k/nginx.conf")" 'BEGIN { printf "%.1f", b / 1048576 }')
r=$(ratio "$c50_s" "$t50_s")
row "50,000 server blocks (${s50_mib} MiB): \`check\` (runs \`nginx -t\` itself) vs \`nginx -t\`" "${c50_s} s (CPU ${c50_cpu} s)" "${t50_s} s (CPU ${t50_cpu} s)" "${r}×" "≤ 1.5×" "$(verdict "$r <= 1.5")"

# 6. A 50 MB config: linear, and cancellable at once. nginx -t alone is
# not run on it again: check runs it, and it dominates both.
echo "6/6 50 MB config ..." >&2
measure 1 "$nginx_bin" -t -c "$tmp/big/nginx.conf"
tbig_s=$wall tbig_cpu=$cpu
measure 1 "$nd" check --no-color -c "$tmp/big/nginx.conf" --error-log "$tmp/empty.log" --timeout 2s
cbig_s=$wall cbig_cpu=$cpu cbig_rss=$rss
grep -q "nginx -t could not run" "$tmp/out" && echo "  note: check's nginx -t did not finish: $(grep -m1 'nginx -t could not run' "$tmp/out")" >&2
big_mib=$(awk -v b="$(stat -c %s "$tmp/big/nginx.conf")" 'BEGIN { printf "%.1f", b / 1048576 }')
r=$(ratio "$cbig_s" "$tbig_s")
row "a ${big_mib} MiB config (50,000 servers, 650,000 locations): \`check\` vs \`nginx -t\`" "${cbig_s} s (CPU ${cbig_cpu} s), ${cbig_rss} MiB" "${tbig_s} s (CPU ${tbig_cpu} s)" "${r}×" "≤ 1.5×" "$(verdict "$r <= 1.5")"
# Linear: ngxdoctor's own CPU time (check's, less its nginx -t's) per MiB,
# on the big config vs on the 9 MiB one.
own_big=$(awk -v a="$cbig_cpu" -v b="$tbig_cpu" -v m="$big_mib" 'BEGIN { printf "%.3f", (a - b) / m }')
own_50=$(awk -v a="$c50_cpu" -v b="$t50_cpu" -v m="$s50_mib" 'BEGIN { printf "%.3f", (a - b) / m }')
lin=$(ratio "$own_big" "$own_50")
row "ngxdoctor's own CPU (check's less nginx -t's) per MiB: that config vs the 9 MiB one" "${own_big} s/MiB" "${own_50} s/MiB" "${lin}×" "linear (≤ 1.5×)" "$(verdict "$lin <= 1.5")"
# SIGTERM 2 s into the check, while the config is being read: the time
# until its message is out, and until it has exited.
"$nd" check --no-color -c "$tmp/big/nginx.conf" --error-log "$tmp/empty.log" >"$tmp/term.out" 2>"$tmp/term.err" &
pid=$!
sleep 2
t0=$(date +%s.%N)
kill -TERM "$pid" 2>/dev/null || true
while kill -0 "$pid" 2>/dev/null && ! grep -q -i -E 'interrupted|stopped|error' "$tmp/term.err" "$tmp/term.out"; do sleep 0.005; done
tm=$(date +%s.%N)
code=0
wait "$pid" || code=$?
t1=$(date +%s.%N)
msg_ms=$(awk -v a="$t0" -v b="$tm" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
exit_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
msg=$(grep -h -i -m1 -o -E '(interrupted|stopped)[^:]*' "$tmp/term.err" "$tmp/term.out" | head -1 || true)
row "SIGTERM 2 s into that check: its message (\"${msg:-none}\"), its exit ($code)" "${msg_ms} ms, ${exit_ms} ms" "" "" "≤ 100 ms, a clear message" "$(verdict "$msg_ms <= 100")"

echo
echo "ngxdoctor issue 11 benchmarks: $(nproc) CPUs, $(uname -r), load average $load0 at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end, best of $runs runs (wall time; CPU is user + system of that run, children included), files in the page cache"
echo
echo "| what | measured | reference | ratio | target | |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$missed"
