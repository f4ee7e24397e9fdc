#!/bin/bash
# tools/bench/h2tls.sh — cached 1 KiB hits over TLS + HTTP/2: edgecache against nginx
# (proxy_cache, `listen ssl http2`) on the same machine, same certificate, same
# origin, in the same minute (issue 8).
#
#   tools/bench/h2tls.sh
#
# Both servers run one worker on CPU $SERVER_CPU (0); h2load runs on CPU $CLIENT_CPU (1)
# with -c $CONNS (50) -m 10 for $SECS (10) seconds, $ROUNDS (3) rounds interleaved
# (edgecache, nginx, edgecache, nginx...) so that machine drift hits both alike. Each
# URL is fetched twice first, so every measured request is a hit. Prints per server the
# median req/s, min and max, the server's CPU time per request (user+system, from
# /proc: it does not depend on the load generator keeping up), and the ratios.
# Environment: SECS, ROUNDS, CONNS, SIZE (1024), WORK (/tmp/ec-h2tls), ports
# ORIGIN_PORT (19780) NGINX_PORT (19783) EC_PORT (19790).
# Needs: apt-get install -y nginx nghttp2-client; a built src/edgecache.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-10} ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-50} SIZE=${SIZE:-1024}
WORK=${WORK:-/tmp/ec-h2tls}
ORIGIN_PORT=${ORIGIN_PORT:-19780} NGINX_PORT=${NGINX_PORT:-19783} EC_PORT=${EC_PORT:-19790}
SPIN="taskset -c ${SERVER_CPU:-0}" CPIN="taskset -c ${CLIENT_CPU:-1}"
[[ -x src/edgecache ]] || { echo "build first: tools/build.sh" >&2; exit 1; }
for b in nginx h2load taskset openssl; do
  command -v $b >/dev/null || { echo "missing $b: apt-get install -y nginx nghttp2-client" >&2; exit 1; }
done

rm -rf "$WORK"; mkdir -p "$WORK/www" "$WORK/cache" "$WORK/tls"
ec_pid=""
cleanup() {
  [[ -n $ec_pid ]] && kill "$ec_pid" 2>/dev/null || true
  for f in "$WORK"/origin.pid "$WORK"/nginx.pid; do
    [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
}
trap cleanup EXIT
head -c "$SIZE" /dev/urandom | base64 -w0 | head -c "$SIZE" > "$WORK/www/obj.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls/key.pem" \
  -out "$WORK/tls/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  >/dev/null 2>&1

common() { # name
  cat <<C
user root;
worker_processes 1;
pid $WORK/$1.pid;
error_log $WORK/$1.err warn;
daemon on;
events { worker_connections 8192; }
http {
  access_log off; default_type application/octet-stream;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 120s; keepalive_requests 100000000;
  client_body_temp_path $WORK/t-$1-b; proxy_temp_path $WORK/t-$1-p;
  fastcgi_temp_path $WORK/t-$1-f; uwsgi_temp_path $WORK/t-$1-u; scgi_temp_path $WORK/t-$1-s;
C
}
{ common origin; cat <<C
  server { listen 127.0.0.1:$ORIGIN_PORT backlog=4096; root $WORK/www; etag on;
    location / { add_header Cache-Control "max-age=3600"; } }
}
C
} > "$WORK/origin.conf"
{ common nginx; cat <<C
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 64; }
  proxy_cache_path $WORK/cache levels=1:2 keys_zone=z:64m max_size=4g inactive=1d use_temp_path=off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2 backlog=4096;
    ssl_certificate $WORK/tls/cert.pem; ssl_certificate_key $WORK/tls/key.pem;
    http2_max_concurrent_streams 128;
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache z; proxy_cache_lock on; proxy_cache_revalidate on;
    }
  }
}
C
} > "$WORK/nginx.conf"
for n in origin nginx; do $SPIN nginx -p "$WORK" -c "$WORK/$n.conf" -e "$WORK/$n.err"; done
$SPIN src/edgecache -l 127.0.0.1:0 --tls-listen "127.0.0.1:$EC_PORT" \
  --cert "$WORK/tls/cert.pem,$WORK/tls/key.pem" -o "http://127.0.0.1:$ORIGIN_PORT" -w 1 \
  --admin off 2> "$WORK/edgecache.err" &
ec_pid=$!
for p in $ORIGIN_PORT $NGINX_PORT $EC_PORT; do
  for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done

names=(edgecache nginx)
urls=("https://localhost:$EC_PORT/obj.bin" "https://localhost:$NGINX_PORT/obj.bin")
for u in "${urls[@]}"; do
  for i in 1 2; do curl -sk --http2 -o /dev/null --resolve "localhost:${u##*:}" "$u" || true; done
done
echo "command: $CPIN h2load -D $SECS -c $CONNS -m 10 URL   (URL: ${urls[*]})"
# CPU time (user+system clock ticks) of a server's processes: edgecache, or nginx's
# workers. Per request it does not depend on how fast the load generator is.
ticks() { # pid...
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
server_pids() { # name
  # nginx: the worker only (the cache loader exits during the run)
  if [[ $1 == edgecache ]]; then echo "$ec_pid"; else pgrep -P "$(cat "$WORK/nginx.pid")" -f "worker process"; fi
}
hz=$(getconf CLK_TCK)
raw=$WORK/raw; : > "$raw"
for r in $(seq "$ROUNDS"); do
  for i in "${!names[@]}"; do
    pids=$(server_pids "${names[$i]}")
    # shellcheck disable=SC2086
    t0=$(ticks $pids)
    out=$($CPIN h2load -D "$SECS" -c "$CONNS" -m 10 "${urls[$i]}" 2>&1)
    # shellcheck disable=SC2086
    t1=$(ticks $pids)
    rps=$(awk '/^finished in/ {gsub(",","",$4); print $4}' <<<"$out")
    nreq=$(awk '/^requests:/ {print $8}' <<<"$out")
    us=$(python3 -c "print(f'{($t1 - $t0) / $hz / max($nreq, 1) * 1e6:.2f}')")
    bad=$(grep -E '^requests:' <<<"$out" | grep -v ' 0 failed, 0 errored' || true)
    codes=$(grep -E '^status codes:' <<<"$out")
    proto=$(grep -E '^Application protocol:' <<<"$out")
    echo "round $r ${names[$i]}: $rps req/s, $us us CPU/request; $codes; $proto"
    [[ -z $bad ]] || echo "warning: ${names[$i]} round $r: $bad" >&2
    echo "${names[$i]} $rps $us" >> "$raw"
  done
done
python3 - "$raw" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
med = {}
cpu = {}
print(f"{'server':<12}{'req/s median':>14}{'min':>11}{'max':>11}{'CPU us/req':>12}")
for n in ("edgecache", "nginx"):
    r = [float(x[1]) for x in rows if x[0] == n]
    med[n] = st.median(r)
    cpu[n] = st.median([float(x[2]) for x in rows if x[0] == n])
    print(f"{n:<12}{med[n]:>14.0f}{min(r):>11.0f}{max(r):>11.0f}{cpu[n]:>12.2f}")
print(f"ratio edgecache/nginx: {med['edgecache'] / med['nginx']:.2f} (req/s), "
      f"{cpu['nginx'] / cpu['edgecache']:.2f} (CPU per request, nginx/edgecache)")
PY
