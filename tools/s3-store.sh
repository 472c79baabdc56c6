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

# shellcheck source=tools/lib/pip-target.sh
. tools/lib/pip-target.sh

if [ -f "$dir/moto/server.py" ] && PYTHONPATH="$dir" python3 -c 'import moto.server' 2>/dev/null; then
  echo "$dir"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to run the S3 store (moto)"
pip_target_install "$dir" moto/server.py moto 'moto==5.2.5' 'flask==3.1.3' 'flask-cors==6.0.5'
PYTHONPATH="$dir" python3 -c 'import moto.server' || die "moto does not import from $dir"
echo "$dir"
