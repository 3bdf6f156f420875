#!/bin/sh
# Generates Go code from protos/ (protoc-gen-go, protoc-gen-go-grpc) and builds the Go
# client program, in GOPATH mode against Debian's Go libraries (/usr/share/gocode).
#
#   clients/go/build.sh [OUT_DIR] [PROTO_DIR]
#
# OUT_DIR (default clients/go/build, gitignored) receives gopath/ (generated code and the
# program's source) and the binary OUT_DIR/heapdestination-go-client. PROTO_DIR (default
# protos/) is the proto root. Toolchain: clients/install-toolchains.sh go (make client-deps).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/build}
PROTOS=${2:-$REPO/protos}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PROTOS=$(cd "$PROTOS" && pwd)

for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "$tool not found: run make client-deps (clients/install-toolchains.sh)" >&2
    exit 127
  }
done

# The .proto files set no go_package: map each one to the Go import path with M options.
GO_PACKAGE=example.com/heapdestination/gen/go/heap_destination/v1
GOPATH_DIR=$OUT/gopath
rm -rf "$GOPATH_DIR"
mkdir -p "$GOPATH_DIR/src"
set --
for file in "$PROTOS"/heap_destination/v1/*.proto; do
  name=${file#"$PROTOS"/}
  set -- "$@" "--go_opt=M$name=$GO_PACKAGE;heap_destinationv1" \
    "--go-grpc_opt=M$name=$GO_PACKAGE;heap_destinationv1" "$name"
done
# paths=import (the default) writes each file under its import path in GOPATH/src.
(cd "$PROTOS" && protoc -I . --go_out="$GOPATH_DIR/src" --go-grpc_out="$GOPATH_DIR/src" "$@")

PROGRAM=$GOPATH_DIR/src/example.com/heapdestination/cmd/heapdestination-go-client
mkdir -p "$PROGRAM"
cp "$HERE/main.go" "$PROGRAM/"

# Module mode fails on a dependency Debian does not ship: build in GOPATH mode, offline.
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}${XDG_CACHE_HOME:-}" ]; then
  export GOCACHE="$OUT/gocache"
fi
(cd "$PROGRAM" && GO111MODULE=off GOPROXY=off GOFLAGS= \
  GOPATH="$GOPATH_DIR:/usr/share/gocode" go build -o "$OUT/heapdestination-go-client" .)
echo "$OUT/heapdestination-go-client"
