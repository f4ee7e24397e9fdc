#!/bin/sh
# quickstart.sh [ORIGIN_URL] — builds edgecache and runs it on
# 127.0.0.1:8080 (PORT=... to change) in front of ORIGIN_URL, or, without
# one, in front of the bundled test origin on a free loopback port, with
# the access log on stdout, and the admin API on 127.0.0.1:9090 (ADMIN=off
# or ADMIN=ADDR:PORT to change) for `tools/cachectl`. Ctrl-C stops both.
set -eu
cd "$(dirname "$0")/.."
tools/build.sh
PORT=${PORT:-8080}
ADMIN=${ADMIN:-127.0.0.1:9090}
origin_pid=""
cleanup() { [ -n "$origin_pid" ] && kill "$origin_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
if [ "$#" -ge 1 ]; then
    ORIGIN=$1
else
    pf=$(mktemp)
    rm -f "$pf"
    python3 tools/ec-testorigin --port 0 --port-file "$pf" >/dev/null &
    origin_pid=$!
    i=0
    while [ ! -s "$pf" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    ORIGIN="http://127.0.0.1:$(cat "$pf")"
    rm -f "$pf"
    echo "quickstart: bundled test origin at $ORIGIN"
    echo "quickstart: try   curl -si 'http://127.0.0.1:$PORT/hello?size=100&cc=max-age=60'   twice"
fi
echo "quickstart: edgecache on http://127.0.0.1:$PORT in front of $ORIGIN"
[ "$ADMIN" = off ] ||
    echo "quickstart: look inside with   tools/cachectl --admin http://$ADMIN stats   (ls, inspect URL, backends, purge URL)"
src/edgecache -l "127.0.0.1:$PORT" -o "$ORIGIN" --admin "$ADMIN" --access-log - &
ec_pid=$!
trap 'kill $ec_pid 2>/dev/null; cleanup' EXIT INT TERM
wait $ec_pid
