# Sourced by tools/kafka-broker.sh and tools/s3-store.sh: installs packages
# from PyPI into a directory of their own under target/, whole or not at all.
#
#   pip_target_install DIR MARKER WHAT PIP_ARGS...
#
# runs `pip install --target` into a staging directory beside DIR and moves it
# to DIR, so an interrupted or concurrent run never leaves a half-installed DIR.
# MARKER is a path inside the install that exists once it is complete (if DIR
# already has it, another run finished first and this one's copy is dropped).
# WHAT names the install in errors. The caller defines `die MESSAGE`.
#
# Temporary files go on `cleanup_paths`, removed when the script exits however
# it exits (a caller adds its own there rather than setting an EXIT trap).
cleanup_paths=()
cleanup() {
  if [ "${#cleanup_paths[@]}" -gt 0 ]; then
    rm -rf "${cleanup_paths[@]}"
  fi
}
trap cleanup EXIT

pip_target_install() {
  local dir=$1 marker=$2 what=$3
  shift 3
  local pip
  if command -v pip3 >/dev/null 2>&1; then
    pip=(pip3)
  elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
  else
    die "pip3 (or python3 -m pip) is needed to fetch $what from PyPI"
  fi
  mkdir -p "$(dirname "$dir")"
  local staging
  staging=$(mktemp -d "$dir.XXXXXX")
  cleanup_paths+=("$staging" "$staging.log")
  if ! PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --quiet --disable-pip-version-check \
      --only-binary=:all: --target "$staging" "$@" >"$staging.log" 2>&1; then
    cat "$staging.log" >&2
    die "could not install $what from PyPI (network, or pip too old?)"
  fi
  if [ ! -e "$dir/$marker" ]; then
    rm -rf "$dir"
    # -T: never into a directory another run moved in meanwhile; if one did,
    # its install is as good as ours.
    mv -T "$staging" "$dir" 2>/dev/null || [ -e "$dir/$marker" ] || die "could not move $what into $dir"
  fi
}
