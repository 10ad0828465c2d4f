#!/usr/bin/env bash
# Times the wizard as a person sees it: from launching the binary in a
# terminal (tmux) to its first frame, and to the verdict on screen.
#   scripts/bench-tui.sh [runs] [-- ngxdoctor args]   (default: 10 runs of `demo`)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}; shift || true
[ "${1:-}" = "--" ] && shift
args=("$@"); [ ${#args[@]} -eq 0 ] && args=(demo)
bin=$(mktemp -d)/ngxdoctor
go build -o "$bin" ./cmd/ngxdoctor
sock="ngxdoctor-bench-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# One tmux server for all runs, so its start-up is not counted.
tmux -L "$sock" new-session -d -s idle -x 100 -y 30 sleep 600
first_all=(); verdict_all=()
for run in $(seq "$runs"); do
  t0=$(date +%s%N)
  tmux -L "$sock" new-session -d -s "r$run" -x 100 -y 30 "$bin" "${args[@]}"
  first=""; verdict=""
  for _ in $(seq 2000); do
    s=$(tmux -L "$sock" capture-pane -p -t "r$run" 2>/dev/null || true)
    if [ -z "$first" ] && [ -n "$(echo "$s" | tr -d '[:space:]')" ]; then first=$(ms "$t0"); fi
    # The verdict bar's mark is ✗ (a cause) or ✓ (healthy) once checks finish.
    if echo "$s" | head -1 | grep -qE '^(✗|✓) '; then verdict=$(ms "$t0"); break; fi
    sleep 0.005
  done
  first_all+=("$first"); verdict_all+=("$verdict")
  tmux -L "$sock" kill-session -t "r$run" 2>/dev/null || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "runs: $runs  args: ${args[*]}"
echo "first frame: median $(median "${first_all[@]}") ms  (all: ${first_all[*]})"
echo "verdict:     median $(median "${verdict_all[@]}") ms  (all: ${verdict_all[*]})"
