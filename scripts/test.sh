#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need when it
# is missing (nginx, php-fpm, iptables, nftables, uwsgi, tmux, ansible-core,
# man-db from Debian's packages), then runs every test: vet, gofmt,
# staticcheck, the race-enabled
# suite with the real integration tests, the package and Ansible test, and
# a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v php-fpm8.2 >/dev/null 2>&1 || [ -x /usr/sbin/php-fpm8.2 ] || need+=(php8.2-fpm)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need+=(iptables)
# nft: a fix that removes an nft rule, and its undo, on a table of the test's own.
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
# A real uwsgi (no language plugin: its internal router answers) for the
# protocol mismatches in both directions.
command -v uwsgi >/dev/null 2>&1 || need+=(uwsgi-core)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# The package and fleet test (scripts/test-ship.sh): Ansible, man, readelf.
command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible-core)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change: $bad"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
# Pinned: the module proxy serves this version (and refuses the 2025.x
# tags). go run builds it into the module cache, not the tree.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test -race"
# Integration tests start real nginx, php-fpm and iptables rules on
# loopback; in CI (CI=true) a missing piece fails instead of skipping.
# One package at a time (-p 1): those tests read the whole host's listener,
# process and firewall tables, so another package's lab backends and nginx
# masters running at the same moment would be evidence in them.
go test -race -count=1 -p 1 -timeout 30m ./...
echo "== package and fleet (scripts/test-ship.sh)"
./scripts/test-ship.sh
echo "== fuzz (short)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME:-10s}" "$pkg" >/dev/null
    echo "ok   fuzz $pkg $target"
  done
done
echo "all tests passed"
