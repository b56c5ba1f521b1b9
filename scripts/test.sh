#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, then runs it.
#   - the PostgreSQL server binaries (the suite starts its own throwaway server on 127.0.0.1);
#   - Debian's Chromium, which the browser tests drive through Playwright;
#   - uv (pinned, from PyPI), then Headwater and every dependency exactly as uv.lock pins them,
#     into the project's .venv.
# Extra arguments go to pytest: scripts/test.sh -k loader -x
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/uv.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -z "${HEADWATER_TEST_PG_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "==> installing PostgreSQL (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium (Debian package) for the browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "==> installing headwater[test] from uv.lock"
uv sync --locked --extra test --extra postgres

echo "==> running the test suite (one worker per core; -n 0 to run in one process)"
uv run --no-sync python -m pytest -n auto --dist worksteal "$@"

# The smallest sizes that still run every benchmark's code path: a benchmark that crashes or whose
# answers disagree with its baseline fails the run; its figures (benchmarks/results/smoke/) are not
# the product's, and a missed bar is reported, not failed.
echo "==> benchmarks (smoke)"
uv run --no-sync python -m benchmarks --smoke
