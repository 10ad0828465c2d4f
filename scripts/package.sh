#!/usr/bin/env bash
# Release build: static binaries for linux/amd64 and linux/arm64, the man
# page and shell completions generated from the command tree, and a .deb and
# an .rpm of each made with nfpm (pinned; run through go run), all in dist/.
#
#   ./scripts/package.sh                 # version from the latest v* tag, else 0.0.0~git<date>.<commit>
#   VERSION=1.2.0 ./scripts/package.sh
#   ARCHES=amd64 ./scripts/package.sh    # only one architecture (the package test does this)
set -euo pipefail
cd "$(dirname "$0")/.."

NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"
ARCHES="${ARCHES:-amd64 arm64}"

rev="" rtime=""
if git rev-parse --git-dir >/dev/null 2>&1; then
  rev=$(git rev-parse HEAD)
  rtime=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)
  dirty=""
  git diff --quiet HEAD -- 2>/dev/null || dirty=".dirty"
  if [ -z "${VERSION:-}" ]; then
    if tag=$(git describe --tags --match 'v[0-9]*' --exact-match HEAD 2>/dev/null); then
      VERSION="${tag#v}$dirty"
    else
      # Sorts before any release in dpkg and rpm ("~"), and says which commit.
      VERSION="0.0.0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD).${rev:0:12}$dirty"
    fi
  fi
fi
VERSION="${VERSION:-0.0.0~unknown}"
case "$VERSION" in
  *[!A-Za-z0-9.~+]*) echo "VERSION $VERSION: only letters, digits and . ~ + (a dpkg and rpm version)" >&2; exit 2 ;;
esac

rm -rf dist
mkdir -p dist/man dist/completions
# -buildvcs=auto overrides a GOFLAGS=-buildvcs=false: the build info keeps
# the commit where git can tell it; -X main.commit covers a worktree, which
# the go command does not stamp.
ldflags="-s -w -X main.version=$VERSION -X main.commit=$rev -X main.commitTime=$rtime"
for arch in $ARCHES; do
  echo "build linux/$arch"
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -buildvcs=auto -ldflags "$ldflags" \
    -o "dist/ngxdoctor_linux_$arch" ./cmd/ngxdoctor
done

# The man page and completions come from this machine's binary: built again
# if its architecture was not in ARCHES.
self="dist/ngxdoctor_linux_$(go env GOARCH)"
if [ ! -x "$self" ]; then
  self=$(mktemp -d)/ngxdoctor
  CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags "$ldflags" -o "$self" ./cmd/ngxdoctor
fi
"$self" man | gzip -9n > dist/man/ngxdoctor.1.gz
"$self" completion bash > dist/completions/ngxdoctor.bash
"$self" completion zsh > dist/completions/_ngxdoctor
"$self" completion fish > dist/completions/ngxdoctor.fish

mkdir -p dist/stage
for arch in $ARCHES; do
  cp "dist/ngxdoctor_linux_$arch" dist/stage/ngxdoctor
  for packager in deb rpm; do
    NGXDOCTOR_ARCH="$arch" NGXDOCTOR_VERSION="$VERSION" \
      go run "$NFPM" package --config packaging/nfpm.yaml --packager "$packager" --target dist/ >/dev/null
  done
done
rm -rf dist/stage
(cd dist && sha256sum ngxdoctor_linux_* *.deb *.rpm > SHA256SUMS)
echo "dist/ (version $VERSION):"
ls -1 dist
