#!/bin/bash
# tools/bench/origin.sh — the origin connector's figures (docs/origin.md):
#
#   1. pool reuse: wrk -t2 -c$C -d${D}s through edgecache (-w 2) in front of two
#      ec-testorigin backends, every request a miss (Cache-Control: no-store);
#      the reuse rate is 1 - (connections the origins accepted) / (requests they
#      answered), i.e. pool_reused / (pool_new + pool_reused);
#   2. a backend killed: the same load, and `kill -9` of one backend KILL_AT
#      seconds in; the client errors wrk counts (non-2xx responses and socket
#      errors) and the daemon's retries and health lines.
#
#   3. h2c: wrk -t2 -c$C -d3s through a group with protocol: h2c to nghttpd
#      (-v, to count the requests it received) serving a small file, every
#      request sent with Cache-Control: no-store; the origin requests and the
#      HTTP/2 connections that carried them.
#
#   tools/bench/origin.sh
# Environment: WORK (/tmp/ec-originbench), D (10), C (32), KILL_AT (3),
# PORT0 (18080; the backends use PORT0+1 and PORT0+2, nghttpd PORT0+3).
# Needs wrk (apt-get install -y wrk) and, for run 3, nghttpd (nghttp2-server).
# Keep runs short on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${WORK:-/tmp/ec-originbench}
D=${D:-10} C=${C:-32} KILL_AT=${KILL_AT:-3}
PORT0=${PORT0:-18080}
P1=$((PORT0 + 1)) P2=$((PORT0 + 2))
[[ -x src/edgecache ]] || { echo "build first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "missing wrk" >&2; exit 1; }
rm -rf "$WORK"; mkdir -p "$WORK"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start_origin() { # port -> pid
	python3 tools/ec-testorigin --port "$1" --port-file "$WORK/o$1.port" >"$WORK/o$1.log" 2>&1 &
	echo $!
}
wait_port() { for _ in $(seq 100); do [[ -s "$1" ]] && return 0; sleep 0.05; done; return 1; }
stat_of() { curl -s "http://127.0.0.1:$1/__stats"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

run() { # name kill(0/1)
	local name=$1 kill=$2
	rm -f "$WORK"/o*.port
	local o1 o2 ec
	o1=$(start_origin $P1); o2=$(start_origin $P2); pids+=("$o1" "$o2")
	wait_port "$WORK/o$P1.port"; wait_port "$WORK/o$P2.port"
	src/edgecache -l 127.0.0.1:$PORT0 -o http://127.0.0.1:$P1 -o http://127.0.0.1:$P2 -w 2 \
		--admin off >"$WORK/$name.ec.log" 2>&1 &
	ec=$!; pids+=("$ec")
	for _ in $(seq 100); do grep -q "listening on" "$WORK/$name.ec.log" && break; sleep 0.05; done
	if [[ $kill == 1 ]]; then (sleep "$KILL_AT"; kill -9 "$o2") & fi
	wrk -t2 -c"$C" -d"${D}s" "http://127.0.0.1:$PORT0/bench?cc=no-store" >"$WORK/$name.wrk" 2>&1
	cat "$WORK/$name.wrk"
	local s1 s2 req conn
	s1=$(stat_of $P1)
	req=$(field "$s1" requests); conn=$(field "$s1" connections)
	if [[ $kill == 0 ]]; then
		s2=$(stat_of $P2)
		req=$((req + $(field "$s2" requests))); conn=$((conn + $(field "$s2" connections)))
		python3 -c "import sys; r,c=int(sys.argv[1]),int(sys.argv[2]); print('%s: origin requests %d, connections %d, reuse %.3f %%' % (sys.argv[3], r, c, 100.0*(r-c)/r))" "$req" "$conn" "$name"
	else
		local errs
		errs=$(grep -E "Non-2xx|Socket errors" "$WORK/$name.wrk" || true)
		echo "$name: client errors: ${errs:-none}"
		echo "$name: retries logged: $(grep -c retrying "$WORK/$name.ec.log" || true)"
		grep -E "marked|probing" "$WORK/$name.ec.log" | head -3 || true
	fi
	kill "$ec" "$o1" 2>/dev/null || true; kill "$o2" 2>/dev/null || true
	wait "$ec" 2>/dev/null || true
	sleep 0.5
}

run_h2c() {
	command -v nghttpd >/dev/null || { echo "h2c: nghttpd missing, skipped"; return 0; }
	local P3=$((PORT0 + 3)) ngh ec
	mkdir -p "$WORK/htdocs"; printf 'hello\n' >"$WORK/htdocs/s.txt"
	nghttpd --no-tls -v -a 127.0.0.1 -d "$WORK/htdocs" $P3 >"$WORK/nghttpd.log" 2>&1 &
	ngh=$!; pids+=("$ngh"); sleep 0.5
	printf 'groups:\n  - name: h2\n    protocol: h2c\n    backends: [127.0.0.1:%d]\n' $P3 >"$WORK/h2c.yaml"
	src/edgecache -c "$WORK/h2c.yaml" -l 127.0.0.1:$PORT0 -w 2 --admin off >"$WORK/h2c.ec.log" 2>&1 &
	ec=$!; pids+=("$ec")
	for _ in $(seq 100); do grep -q "listening on" "$WORK/h2c.ec.log" && break; sleep 0.05; done
	wrk -t2 -c"$C" -d3s -H "Cache-Control: no-store" "http://127.0.0.1:$PORT0/s.txt" | tee "$WORK/h2c.wrk"
	sleep 0.5
	echo "h2c: origin requests $(grep -c 'recv HEADERS frame' "$WORK/nghttpd.log"), HTTP/2 connections $(grep -o '\[id=[0-9]*\]' "$WORK/nghttpd.log" | sort -u | wc -l)"
	kill "$ec" "$ngh" 2>/dev/null || true
	wait "$ec" 2>/dev/null || true
}

run reuse 0
run kill9 1
run_h2c
