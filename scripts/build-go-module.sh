#!/usr/bin/env bash
# Builds one main package of a Go module release, fetched from the Go module proxy, into OUTPUT.
#
#   scripts/build-go-module.sh MODULE VERSION PACKAGE OUTPUT
#   e.g. scripts/build-go-module.sh github.com/livekit/livekit-server v1.13.5 ./cmd/server bin/livekit-server
#
# `go install MODULE/PACKAGE@VERSION` refuses a release whose go.mod has `replace` directives,
# so the release is downloaded, copied out of the read-only module cache and built inside the
# copy, where its own go.mod, go.sum and replacements apply. The build is portable: no cgo
# unless CGO_ENABLED=1 is set by the caller, GOAMD64=v1 (any x86-64), paths trimmed.
# OUTPUT appears only once the build has succeeded (written beside it, then renamed).
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 MODULE VERSION PACKAGE OUTPUT" >&2
  exit 2
fi
module=$1 version=$2 package=$3 output=$4

if ! command -v go >/dev/null; then
  echo "error: building $module needs the Go toolchain (go 1.26 or later) on PATH" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/go-build-module.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Outside any module, so the download is not tied to a go.mod of ours.
info=$(cd "$work" && go mod download -json "$module@$version") || {
  echo "error: the Go module proxy did not serve $module@$version:" >&2
  echo "$info" >&2
  exit 1
}
source_dir=$(printf '%s' "$info" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')

cp -r "$source_dir" "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$(dirname "$output")"
(
  cd "$work/src"
  CGO_ENABLED=${CGO_ENABLED:-0} GOAMD64=v1 go build -trimpath -o "$work/binary" "$package"
)
mv "$work/binary" "$output"
