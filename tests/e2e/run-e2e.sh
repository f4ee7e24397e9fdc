#!/bin/sh
# tests/e2e/run-e2e.sh — runs the end-to-end scenarios (pytest) from `make check`.
#
# make check runs it through the generated wrapper tests/e2e/run-e2e, which sets PYTHON3
# (configure's interpreter), EDGECACHE (the built daemon), EC_TESTORIGIN (the origin)
# and srcdir (the top source directory). By hand, from a build tree:
#   EDGECACHE=$PWD/src/edgecache tests/e2e/run-e2e.sh [pytest args, e.g. -k keepalive]
# Every scenario runs (no -x); pytest's exit status is the test's.

if [ -z "$PYTHON3" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON3=/usr/bin/python3; else PYTHON3=python3; fi
fi
: "${srcdir:=$(dirname "$0")/../..}"
export EDGECACHE EC_TESTORIGIN
# Keep the source tree clean (out-of-tree and distcheck builds make it read-only).
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec "$PYTHON3" -m pytest -q -p no:cacheprovider "$srcdir/tests/e2e" "$@"
