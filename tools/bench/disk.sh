#!/bin/bash
# tools/bench/disk.sh — the disk tier's figures (docs/storage.md, "Disk tier"):
#
#   1. fill N objects of 1 KiB (default 100,000) through the daemon into a
#      fresh -d directory, SIGTERM it, and report the LMDB space per object
#      (live pages from the daemon's close line, and the data.mdb file);
#   2. restart-to-first-hit: from exec of the daemon to the first response
#      served from disk, with the N objects on disk;
#   3. disk-hit vs memory-hit throughput: wrk (random keys over the N objects)
#      against the daemon pinned to CPU 0 with a 64 KiB memory tier (hits come
#      from disk: the memory tier holds about 30 of them), then with a memory
#      tier holding all of them after a warm-up pass; the ratio.
#
#   tools/bench/disk.sh [N]
# Environment: WORK (/tmp/ec-diskbench), D (10 s per wrk run), R (3 rounds),
# C (50 connections), DISK_SIZE (1G). Needs nginx and wrk (apt-get install -y
# nginx wrk). The origin is a private nginx answering every path with the same
# 1 KiB body (Cache-Control: max-age=86400).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
WORK=${WORK:-/tmp/ec-diskbench}
D=${D:-10} R=${R:-3} C=${C:-50}
DISK_SIZE=${DISK_SIZE:-1G}
OPORT=${OPORT:-29680} EPORT=${EPORT:-29690}
[[ -x src/edgecache ]] || { echo "build first" >&2; exit 1; }
for b in nginx wrk; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
rm -rf "$WORK"; mkdir -p "$WORK/www" "$WORK/run"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$WORK/www/1k.bin"
cat > "$WORK/nginx.conf" <<NG
worker_processes 1;
pid $WORK/run/nginx.pid;
error_log $WORK/run/nginx.err warn;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$OPORT;
    location / { root $WORK/www; try_files /1k.bin =404;
                 add_header Cache-Control "max-age=86400"; etag on; }
  }
}
NG
taskset -c 1 nginx -c "$WORK/nginx.conf"
ec=
cleanup() { [[ -n $ec ]] && kill "$ec" 2>/dev/null; wait 2>/dev/null; kill "$(cat "$WORK/run/nginx.pid")" 2>/dev/null || true; }
trap cleanup EXIT

start_ec() { # memory size, stderr file
  taskset -c 0 src/edgecache -l 127.0.0.1:$EPORT -o http://127.0.0.1:$OPORT -w 1 --admin off \
    -m "$1" -d "$WORK/disk:$DISK_SIZE" 2>"$2" &
  ec=$!
  for i in $(seq 100); do grep -q "listening on" "$2" && return 0; sleep 0.05; done
  echo "edgecache did not start" >&2; cat "$2" >&2; exit 1
}
stop_ec() { kill -TERM "$ec"; wait "$ec" || true; ec=; }

cat > "$WORK/seq.lua" <<LUA
-- each wrk thread walks its own slice of /obj/0 .. /obj/N-1, then starts over
local counter, threads = 0, {}
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) id = wrk.thread:get("id"); i = id end
function request() local p = "/obj/" .. i; i = i + 2; if i >= $N then i = id end
  return wrk.format("GET", p) end
LUA
cat > "$WORK/rand.lua" <<LUA
math.randomseed(os.time())
function request() return wrk.format("GET", "/obj/" .. math.random(0, $N - 1)) end
LUA

echo "== fill: $N objects of 1 KiB"
start_ec 256M "$WORK/fill.err"
# Each pass stores what the previous one missed; passes end when all N are stored.
for pass in 1 2 3 4 5; do
  taskset -c 1 wrk -t2 -c16 -d"$(( N / 4000 + 5 ))s" -s "$WORK/seq.lua" http://127.0.0.1:$EPORT/ >/dev/null
done
stop_ec
grep "closed:" "$WORK/fill.err"
objs=$(sed -n 's/.*closed: \([0-9]*\) objects, \([0-9.]*\) MiB used.*/\1/p' "$WORK/fill.err")
mib=$(sed -n 's/.*closed: \([0-9]*\) objects, \([0-9.]*\) MiB used.*/\2/p' "$WORK/fill.err")
fsize=$(stat -c %s "$WORK/disk/data.mdb")
python3 -c "
o, m, f = $objs, $mib, $fsize
print('objects %d; live pages %.1f MiB = %.0f bytes/object; data.mdb %.1f MiB = %.0f bytes/object'
      % (o, m, m * 1048576 / o, f / 1048576, f / o))"

echo "== restart to first hit"
python3 - "$WORK" $EPORT $OPORT "$DISK_SIZE" <<'PY'
import socket, subprocess, sys, time
work, eport, oport, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
req = b"GET /obj/17 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % eport  # the key wrk filled
for run in range(3):
    t0 = time.monotonic()
    p = subprocess.Popen(["taskset", "-c", "0", "src/edgecache", "-l", "127.0.0.1:%d" % eport, "-o",
                          "http://127.0.0.1:" + oport, "-w", "1", "--admin", "off", "-m", "256M",
                          "-d", "%s/disk:%s" % (work, size)], stderr=subprocess.DEVNULL)
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", eport))
            break
        except OSError:
            time.sleep(0.0005)
    s.sendall(req)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    t1 = time.monotonic()
    hit = b"edgecache; hit" in data
    print("run %d: first response %.1f ms after exec (%s)" % (run, (t1 - t0) * 1000, "hit" if hit else "NOT a hit"))
    p.terminate(); p.wait()
PY

run_wrk() { # label
  for r in $(seq "$R"); do
    taskset -c 1 wrk -t1 -c"$C" -d"${D}s" -s "$WORK/rand.lua" http://127.0.0.1:$EPORT/ |
      awk -v l="$1" '/^Requests\/sec/ {print l, $2}'
  done
}
echo "== disk hits (-m 64K) vs memory hits (-m 512M, warmed)"
start_ec 64K "$WORK/disk.err"
run_wrk disk > "$WORK/rps"
stop_ec
start_ec 512M "$WORK/mem.err"
taskset -c 1 wrk -t2 -c16 -d"$(( N / 4000 + 5 ))s" -s "$WORK/seq.lua" http://127.0.0.1:$EPORT/ >/dev/null
taskset -c 1 wrk -t2 -c16 -d"$(( N / 4000 + 5 ))s" -s "$WORK/seq.lua" http://127.0.0.1:$EPORT/ >/dev/null
run_wrk memory >> "$WORK/rps"
stop_ec
python3 - "$WORK/rps" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for k in ("disk", "memory"):
    v = [float(r[1]) for r in rows if r[0] == k]
    med[k] = statistics.median(v)
    print("%-7s req/s median %.0f (runs %s)" % (k, med[k], ", ".join("%.0f" % x for x in v)))
print("disk/memory ratio %.2f" % (med["disk"] / med["memory"]))
PY
