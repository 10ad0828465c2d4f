#!/usr/bin/env bash
# Times the wizard as a terminal sees it. `script -t` records when each
# chunk of output arrived after the program started: the first frame is the
# first chunk of screen (over 500 bytes), the verdict the chunk that first
# carries the verdict's text.
#   scripts/bench-tui.sh [runs] [verdict-text] [-- ngxdoctor args]
#   scripts/bench-tui.sh --200 [runs]
#   default: 15 runs of `demo`, verdict text "may not connect"; --200: a
#   config of one upstream with 200 servers on 127.0.0.1 where nothing
#   listens (internal/benchgen), verdict text "backend-down: 200 of 200"
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
many=
if [ "${1:-}" = "--200" ]; then many=1; shift; fi
runs=${1:-15}; shift || true
want=${1:-may not connect}; shift || true
[ "${1:-}" = "--" ] && shift
args=("$@"); [ ${#args[@]} -eq 0 ] && args=(demo)
if [ -n "$many" ]; then
  mkdir -p "$dir/many" && go run ./internal/benchgen upstreams "$dir/many" 200 21000 >/dev/null
  want="backend-down: 200 of 200"; args=(-c "$dir/many/nginx.conf" --read-only)
fi
go build -o "$dir/ngxdoctor" ./cmd/ngxdoctor
first_all=(); verdict_all=()
for _ in $(seq "$runs"); do
  TERM=xterm-256color COLUMNS=120 LINES=36 timeout -s INT 3 \
    script -q -t"$dir/timing" -c "$dir/ngxdoctor ${args[*]}" "$dir/out" >/dev/null 2>&1 || true
  read -r first verdict < <(python3 - "$dir/timing" "$dir/out" "$want" <<'PY'
import sys
timing, out, want = sys.argv[1], open(sys.argv[2], 'rb').read(), sys.argv[3].encode()
start = out.index(b'\n') + 1 if out.startswith(b'Script started') else 0
at = out.find(want, start)
t = pos = 0.0; first = verdict = None; pos = start
for line in open(timing):
    d, n = line.split(); t += float(d); n = int(n)
    if first is None and n > 500: first = t
    if verdict is None and at >= 0 and pos + n > at: verdict = t
    pos += n
print(round((first or 0) * 1000), round((verdict or 0) * 1000))
PY
)
  first_all+=("$first"); verdict_all+=("$verdict")
done
# A run that showed nothing within the 3 s is printed as 0 and left out
# of the median, which would otherwise read it as the fastest.
median() { printf '%s\n' "$@" | awk '$1 > 0' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "none"}'; }
missed() { printf '%s\n' "$@" | awk '$1 == 0 {n++} END {if (n) printf "; %d of %d runs showed none within 3 s", n, NR}'; }
echo "runs: $runs  args: ${args[*]}  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "first frame: median $(median "${first_all[@]}") ms after start  (all: ${first_all[*]}$(missed "${first_all[@]}"))"
echo "verdict:     median $(median "${verdict_all[@]}") ms after start  (all: ${verdict_all[*]}$(missed "${verdict_all[@]}"))"
