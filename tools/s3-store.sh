#!/usr/bin/env bash
# An S3-compatible object store for the broker-restart tests: moto's server
# (PyPI `moto`, with flask for its HTTP front), installed into target/moto.
# tansu keeps its topics, offsets and groups there (`--storage-engine
# s3://BUCKET/`), so a broker killed and started again has its data back; the
# in-memory storage the other tests use forgets everything on a restart.
#
#   tools/s3-store.sh    install (once) and print the directory to put on
#                        PYTHONPATH; the tests run `python3 -m moto.server`
#
# The install goes to target/moto in the checkout; running it again reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$PWD/target/moto"

die() {
  echo "s3-store.sh: $*" >&2
  exit 2
}

if [ -f "$dir/.installed" ] && PYTHONPATH="$dir" python3 -c 'import moto.server' 2>/dev/null; then
  echo "$dir"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to run the S3 store (moto)"
if command -v pip3 >/dev/null 2>&1; then
  pip=(pip3)
elif python3 -m pip --version >/dev/null 2>&1; then
  pip=(python3 -m pip)
else
  die "pip3 (or python3 -m pip) is needed to fetch moto from PyPI"
fi
mkdir -p "$PWD/target"
# Install beside the final place and move it in, so an interrupted or
# concurrent run never leaves a half-installed package at $dir.
staging=$(mktemp -d "$PWD/target/moto.XXXXXX")
if ! PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --quiet --disable-pip-version-check \
    --only-binary=:all: --target "$staging" 'moto==5.2.5' 'flask==3.1.3' 'flask-cors==6.0.5' \
    >"$staging.log" 2>&1; then
  cat "$staging.log" >&2
  rm -rf "$staging" "$staging.log"
  die "could not install moto from PyPI (network, or pip too old?)"
fi
rm -f "$staging.log"
touch "$staging/.installed"
if [ -f "$dir/.installed" ]; then
  rm -rf "$staging" # another run finished first
else
  rm -rf "$dir"
  mv "$staging" "$dir" || { rm -rf "$staging"; [ -f "$dir/.installed" ] || die "could not move moto into $dir"; }
fi
PYTHONPATH="$dir" python3 -c 'import moto.server' || die "moto does not import from $dir"
echo "$dir"
