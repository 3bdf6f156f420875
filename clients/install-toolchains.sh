#!/bin/sh
# Installs, with apt, the Debian toolchains that build the Go and Java clients
# (clients/go, clients/java) from protos/. `make client-deps` runs it.
#
#   clients/install-toolchains.sh [go|java|all]     (default: all)
#
# As root it installs the packages (about 30 s); otherwise it prints the command to run
# and exits 0. These are Debian 12's stacks: grpc-go 1.33 and grpc-java 1.41 (see docs/clients.md).
set -eu

# Go: compiler, protoc with its Go plugins, and the Go libraries in GOPATH layout
# (/usr/share/gocode). golang-github-golang-protobuf-1-5-dev matters: without it apt
# picks github.com/golang/protobuf 1.3 and the first call panics in table_marshal.go.
GO_PACKAGES="golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc \
golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev"

# Java: JDK, protoc with the gRPC Java plugin (/usr/bin/grpc_java_plugin), protobuf-java
# and grpc-java, and what grpc-java loads at run time: the individual netty-* jars
# (libnetty-java; its netty-all.jar is empty), guava, perfmark, gson, and
# javax.annotation.Generated (used by the generated stubs, gone from the JDK since 11).
JAVA_PACKAGES="default-jdk-headless protobuf-compiler protobuf-compiler-grpc-java-plugin \
libprotobuf-java libgrpc-java libnetty-java libguava-java libperfmark-java \
libgoogle-gson-java libgeronimo-annotation-1.3-spec-java"

case "${1:-all}" in
  go) PACKAGES=$GO_PACKAGES ;;
  java) PACKAGES=$JAVA_PACKAGES ;;
  all) PACKAGES="$GO_PACKAGES $JAVA_PACKAGES" ;;
  *) echo "usage: $0 [go|java|all]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Not root (or no apt-get): not installing. The Go and Java client builds need:"
  echo "  apt-get install --no-install-recommends $(echo $PACKAGES)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -q --no-install-recommends $PACKAGES; then
  # a fresh image has no package lists yet
  apt-get update -q
  apt-get install -y -q --no-install-recommends $PACKAGES
fi
echo "installed: $(echo $PACKAGES)"
