#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs nothing by hand, needs
# only the Rust toolchain (cargo) and, beside the checkout, ../shared/testdata.
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

echo "== unit, integration and doc tests"
cargo test --workspace --locked
echo "== benches compile (timed runs are 'cargo bench', not tests)"
cargo check --workspace --benches --locked --quiet
