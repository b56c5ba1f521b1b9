#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, then runs it.
#   - the PostgreSQL server binaries (the suite starts its own throwaway server on 127.0.0.1);
#   - Debian's Chromium, which the viewer's browser tests drive through Playwright;
#   - Headwater itself, editable, with its test extras.
# Extra arguments go to pytest: scripts/test.sh -k loader -x
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -z "${HEADWATER_TEST_PG_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "==> installing PostgreSQL (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium (Debian package) for the viewer's browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "==> installing headwater[test]"
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

echo "==> running the test suite"
python3 -m pytest "$@"

# Reduced sizes, under 2 minutes: a missed bar is reported in benchmarks/results/quick/RESULTS.md, not
# failed (a loaded CI machine is not the product); a benchmark that crashes or disagrees with its
# baseline fails the run.
echo "==> benchmarks (quick)"
python3 -m benchmarks --quick
