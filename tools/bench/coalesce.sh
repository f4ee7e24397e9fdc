#!/bin/bash
# tools/bench/coalesce.sh — what a burst of cold requests for one slow object costs in
# edgecache, nginx (proxy_cache with proxy_cache_lock on) and Varnish (issue 5): N
# concurrent cold requests (default 200, one connection each, from
# tools/bench/coalesce-client.py: one Python thread with a selector), and for each
# cache the origin requests it made, the wall time until all N responses were complete,
# and the time to first byte (and to first body byte) of the waiters.
#
#   tools/bench/coalesce.sh
#
# Object shapes (tools/ec-testorigin query parameters, SIZE bytes, max-age=60):
#   slow    delay=1: the head after 1 s, then the whole body (the issue's 1 s origin)
#   stream  delay=0.5&body_delay=1: head and first half at 0.5 s, the rest at 1.5 s;
#           a waiter's first body byte near 0.5 s means it streams the fill
# Every round uses a new path, so every burst is cold. The servers (the test origin
# included) run on CPU $SERVER_CPU (0), the client on CPU $CLIENT_CPU (1).
# Environment: N (200), ROUNDS (3), SIZE (65536), WORKERS (2: edgecache -w and nginx
# worker_processes; Varnish runs its default thread pools), SHAPES ("slow stream"),
# WORK (/tmp/ec-coalesce), ports VARNISH_PORT (19691) NGINX_PORT (19692); edgecache takes
# a port the kernel picks.
# Needs: apt-get install -y nginx varnish; a built src/edgecache.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200} ROUNDS=${ROUNDS:-3} SIZE=${SIZE:-65536} WORKERS=${WORKERS:-2}
SHAPES=${SHAPES:-slow stream}
WORK=${WORK:-/tmp/ec-coalesce}
VARNISH_PORT=${VARNISH_PORT:-19691} NGINX_PORT=${NGINX_PORT:-19692}
SPIN="taskset -c ${SERVER_CPU:-0}" CPIN="taskset -c ${CLIENT_CPU:-1}"
[[ -x src/edgecache ]] || { echo "build first: tools/build.sh" >&2; exit 1; }
for b in nginx varnishd python3 taskset; do
  command -v $b >/dev/null || { echo "missing $b: apt-get install -y nginx varnish" >&2; exit 1; }
done

rm -rf "$WORK"; mkdir -p "$WORK/cache" "$WORK/varnish"
pids=()
cleanup() {
  local daemons=()
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$WORK/nginx.pid" "$WORK/varnish.pid"; do
    [[ -f $f ]] || continue
    daemons+=("$(cat "$f")"); kill "${daemons[-1]}" 2>/dev/null || true; rm -f "$f"
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${daemons[@]}"; do  # not our children: wait for them to go
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}
trap cleanup EXIT

wait_port() { # port name
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "$2 did not listen on $1" >&2; exit 1
}

# the scripted origin, on a port of its choosing
$SPIN python3 tools/ec-testorigin --port 0 --port-file "$WORK/origin.port" >"$WORK/origin.out" \
  2>"$WORK/origin.err" &
pids+=($!)
for _ in $(seq 100); do [[ -s $WORK/origin.port ]] && break; sleep 0.1; done
ORIGIN_PORT=$(cat "$WORK/origin.port")

for p in "$VARNISH_PORT" "$NGINX_PORT"; do
  [[ -z $(ss -Hltn "sport = :$p") ]] || { echo "port $p is taken: set VARNISH_PORT / NGINX_PORT" >&2; exit 1; }
done
cat >"$WORK/nginx.conf" <<C
user root;
worker_processes $WORKERS;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
daemon on;
events { worker_connections 8192; }
http {
  access_log off; default_type application/octet-stream;
  keepalive_timeout 120s;
  client_body_temp_path $WORK/t-b; proxy_temp_path $WORK/t-p;
  fastcgi_temp_path $WORK/t-f; uwsgi_temp_path $WORK/t-u; scgi_temp_path $WORK/t-s;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 64; }
  proxy_cache_path $WORK/cache levels=1:2 keys_zone=z:64m max_size=1g inactive=1d use_temp_path=off;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache z; proxy_cache_lock on;
      add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
}
C
$SPIN nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/nginx.err"
$SPIN varnishd -n "$WORK/varnish" -a "127.0.0.1:$VARNISH_PORT" -b "127.0.0.1:$ORIGIN_PORT" \
  -s malloc,256M -T 127.0.0.1:0 -P "$WORK/varnish.pid" >"$WORK/varnish.err" 2>&1
# edgecache on a port the kernel picks: its workers' sockets use SO_REUSEPORT, so a
# fixed port could be shared with another edgecache of the same user unnoticed
$SPIN src/edgecache -l 127.0.0.1:0 -o "http://127.0.0.1:$ORIGIN_PORT" -w "$WORKERS" \
  --admin off --access-log "$WORK/edgecache.access" 2>"$WORK/edgecache.err" &
pids+=($!)
for _ in $(seq 100); do
  EC_PORT=$(sed -n 's/^edgecache: listening on 127\.0\.0\.1:\([0-9]*\) (http)$/\1/p' "$WORK/edgecache.err")
  [[ -n $EC_PORT ]] && break; sleep 0.1
done
[[ -n $EC_PORT ]] || { echo "edgecache did not start:" >&2; cat "$WORK/edgecache.err" >&2; exit 1; }
wait_port "$ORIGIN_PORT" origin; wait_port "$NGINX_PORT" nginx
wait_port "$VARNISH_PORT" varnish; wait_port "$EC_PORT" edgecache

declare -A ports=([edgecache]=$EC_PORT [nginx]=$NGINX_PORT [varnish]=$VARNISH_PORT)
names=(edgecache nginx varnish)
echo "# $N concurrent cold requests, $SIZE-byte object, $ROUNDS rounds ($(date -u +%FT%TZ)," \
  "$(nproc) cores; servers on CPU ${SERVER_CPU:-0}, client on CPU ${CLIENT_CPU:-1};" \
  "edgecache -w $WORKERS, nginx $(nginx -v 2>&1 | sed 's|.*/||') $WORKERS workers," \
  "varnish $(varnishd -V 2>&1 | sed -n 's/.*varnish-\([0-9.]*\).*/\1/p'))"
status=0
for shape in $SHAPES; do
  case $shape in
    slow) q="size=$SIZE&cc=max-age=60&delay=1" ;;
    stream) q="size=$SIZE&cc=max-age=60&delay=0.5&body_delay=1" ;;
    *) echo "unknown shape $shape" >&2; exit 2 ;;
  esac
  echo
  echo "## $shape ($q)"
  printf '%-10s %5s %4s %6s %7s  %-27s  %s\n' cache round ok origin "wall s" \
    "ttfb s min/med/p90/max" "1st body byte s min/med/p90/max"
  for r in $(seq "$ROUNDS"); do
    for name in "${names[@]}"; do  # interleaved, so drift hits all alike
      path="/coal-$shape-$name-$r-$$"
      out=$($CPIN python3 tools/bench/coalesce-client.py --port "${ports[$name]}" \
        --path "$path?$q" --origin-port "$ORIGIN_PORT" --size "$SIZE" -n "$N") || status=1
      python3 - "$name" "$r" "$out" <<'P'
import json, sys
name, r, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
q = lambda v: "/".join("%.3f" % x for x in v) if v else "-"
print("%-10s %5s %4d %6d %7s  %-27s  %s" % (name, r, d["ok"], d["origin"],
      "%.3f" % d["wall"] if d["wall"] is not None else "-", q(d["ttfb"]), q(d["tfbb"])))
for what, n in d["bad"].items():
    print("    %d failed: %s" % (n, what))
P
    done
  done
done
exit $status
