#!/bin/sh
# Generates Java code from protos/ (protoc's java output and grpc_java_plugin) and compiles
# the Java client program with plain javac against Debian's jars (/usr/share/java).
#
#   clients/java/build.sh [OUT_DIR] [PROTO_DIR]
#
# OUT_DIR (default clients/java/build, gitignored) receives gen/ (generated sources),
# classes/, and classpath: the run classpath, also printed on the last line. Run with
#   java -cp "$(cat OUT_DIR/classpath)" com.example.heapdestination.client.Main --target HOST:PORT
# PROTO_DIR (default protos/) is the proto root. Toolchain: clients/install-toolchains.sh java
# (make client-deps).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/build}
PROTOS=${2:-$REPO/protos}
JARS=${JAVA_LIB_DIR:-/usr/share/java}
GRPC_JAVA_PLUGIN=${GRPC_JAVA_PLUGIN:-/usr/bin/grpc_java_plugin}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PROTOS=$(cd "$PROTOS" && pwd)

for tool in javac java protoc "$GRPC_JAVA_PLUGIN"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "$tool not found: run make client-deps (clients/install-toolchains.sh)" >&2
    exit 127
  }
done

# To compile: protobuf-java, the grpc stub API, guava (ListenableFuture in the future stub)
# and javax.annotation.Generated (on the generated stubs; no longer in the JDK).
COMPILE_JARS="protobuf grpc-api grpc-stub grpc-protobuf grpc-protobuf-lite guava \
geronimo-annotation-1.3-spec"
# To run, also: grpc-core and the netty transport with the individual netty jars (Debian's
# netty-all.jar is an empty shell), perfmark and gson (used by grpc-core).
RUN_JARS="$COMPILE_JARS grpc-context grpc-core grpc-netty netty-buffer netty-codec \
netty-codec-http netty-codec-http2 netty-codec-socks netty-common netty-handler \
netty-handler-proxy netty-resolver netty-transport netty-transport-native-unix-common \
perfmark-api gson jsr305 error-prone-annotations"

classpath() {
  path=
  for jar in "$@"; do
    [ -f "$JARS/$jar.jar" ] || {
      echo "$JARS/$jar.jar not found: run make client-deps (clients/install-toolchains.sh)" >&2
      exit 127
    }
    path=${path:+$path:}$JARS/$jar.jar
  done
  echo "$path"
}
# shellcheck disable=SC2086  # the jar lists are split on purpose
COMPILE_CLASSPATH=$(classpath $COMPILE_JARS)
# shellcheck disable=SC2086
RUN_CLASSPATH=$(classpath $RUN_JARS)

rm -rf "$OUT/gen" "$OUT/classes"
mkdir -p "$OUT/gen" "$OUT/classes"
(cd "$PROTOS" && protoc -I . --java_out="$OUT/gen" \
  --plugin=protoc-gen-grpc-java="$GRPC_JAVA_PLUGIN" --grpc-java_out="$OUT/gen" \
  heap_destination/v1/*.proto)

find "$OUT/gen" "$HERE/src" -name '*.java' > "$OUT/sources.txt"
javac -nowarn -encoding UTF-8 -d "$OUT/classes" -cp "$COMPILE_CLASSPATH" @"$OUT/sources.txt"

echo "$OUT/classes:$RUN_CLASSPATH" > "$OUT/classpath"
cat "$OUT/classpath"
