# Sourced by the scripts: makes `uv` (the pinned release, installed from PyPI if missing) available
# as a shell function, so nothing depends on where pip puts console scripts.
UV_VERSION=0.13.9
if [ "$(python3 -m uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "==> installing uv $UV_VERSION (from PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
uv() { python3 -m uv "$@"; }
export UV_LINK_MODE="${UV_LINK_MODE:-copy}"  # no hard-link warnings when the cache is on another disk
