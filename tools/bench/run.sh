#!/bin/bash
# tools/bench/run.sh — edgecache side by side with Varnish and nginx, using
# the shared anchors (../shared/bench, or $EC_SHARED_BENCH): one pinned core
# per server (CPU 0), the load generator on CPU 1, ratios from one run.
#
#   tools/bench/run.sh [SCENARIO...]
#
# Scenarios: pass (plain proxying, /nostore/1k.bin: every request reaches the
# origin), hit1k, hit1m, h2hit1k. Default: pass hit1k hit1m.
# Environment: DURATION (10), ROUNDS (3), CONNS (50), WORK (/tmp/ec-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${EC_SHARED_BENCH:-../shared/bench}
WORK=${WORK:-/tmp/ec-bench}
D=${DURATION:-10} R=${ROUNDS:-3} C=${CONNS:-50}
EC_PORT=${EC_PORT:-19590}
[[ -x src/edgecache ]] || { echo "build first: tools/build.sh" >&2; exit 1; }
for b in varnishd nginx wrk h2load; do
  command -v $b >/dev/null || { echo "missing $b: apt-get install -y varnish nginx wrk nghttp2-client" >&2; exit 1; }
done
scenarios=("$@"); [[ ${#scenarios[@]} -gt 0 ]] || scenarios=(pass hit1k hit1m)

"$SHARED/anchors.sh" start "$WORK" >/dev/null
taskset -c "${SERVER_CPU:-0}" src/edgecache -l "127.0.0.1:$EC_PORT" -o http://127.0.0.1:19580 \
  -w 1 --admin off 2>"$WORK/edgecache.err" &
ec=$!
trap 'kill $ec 2>/dev/null; wait $ec 2>/dev/null; "$SHARED/anchors.sh" stop "$WORK"' EXIT
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$EC_PORT") 2>/dev/null && break; sleep 0.1; done

E=http://127.0.0.1:$EC_PORT V=http://127.0.0.1:19581 N=http://127.0.0.1:19582
H=(-d "$D" -r "$R" -c "$C")
for s in "${scenarios[@]}"; do
  echo "## $s   ($(date -u +%FT%TZ), $(nproc) cores, duration ${D}s x $R rounds, $C connections)"
  case $s in
    pass)  "$SHARED/hits.sh" "${H[@]}" edgecache=$E/nostore/1k.bin nginx=$N/nostore/1k.bin \
             varnish=$V/nostore/1k.bin ;;
    hit1k) "$SHARED/hits.sh" "${H[@]}" edgecache=$E/1k.bin varnish=$V/1k.bin nginx=$N/1k.bin \
             limit=http://127.0.0.1:19585/ ;;
    hit1m) "$SHARED/hits.sh" "${H[@]}" edgecache=$E/1m.bin varnish=$V/1m.bin nginx=$N/1m.bin ;;
    h2hit1k) "$SHARED/hits.sh" "${H[@]}" --h2 edgecache=$E/1k.bin nginx=http://127.0.0.1:19584/1k.bin ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
  echo
done
