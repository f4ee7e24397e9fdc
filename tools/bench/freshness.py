#!/usr/bin/env python3
"""freshness.py — replays a Zipf request trace through edgecache against an
origin whose objects change at known intervals, with the freshness predictor
off and on, and reports hit ratio, origin requests and stale answers.

    tools/bench/freshness.py [--seconds 30] [--rate 200] [--keys 400]

A second pair of runs gives every object max-age=5 and compares
refresh-ahead off and on: with it, hot objects are revalidated in the
background before they expire, so their requests stay hits.

The objects carry an ETag but no explicit freshness and no Last-Modified, so
RFC 9111 gives them no heuristic lifetime: without the predictor every use
is a revalidation (a 304 still costs an origin round trip). Each key changes
every 5 s, 30 s, 120 s or never (a quarter of the keys each). "Stale" counts
answers whose X-Origin-Version is older than the origin's version at the
moment the answer arrived: the price of serving learned lifetimes.
Everything runs on 127.0.0.1; both servers are stopped at the end.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTERVALS = [5, 30, 120, 0]  # 0 = never changes


def start(cmd, pattern, stream):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if stream == "out" else subprocess.DEVNULL,
                         stderr=subprocess.PIPE if stream == "err" else subprocess.DEVNULL, text=True)
    pipe = p.stdout if stream == "out" else p.stderr
    while True:
        line = pipe.readline()
        if not line:
            raise SystemExit("%s exited: %s" % (cmd[0], p.poll()))
        m = re.search(pattern, line)
        if m:
            # keep draining the pipe (a full pipe would block the server's
            # logging) and keep the tail for a post-mortem
            tail = []

            def drain():
                for l in pipe:
                    tail.append(l)
                    del tail[:-50]
            threading.Thread(target=drain, daemon=True).start()
            p.log_tail = tail
            return p, int(m.group(1))


def zipf_sampler(n, alpha, rnd):
    weights = [1.0 / (i + 1) ** alpha for i in range(n)]
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)

    def sample():
        import bisect
        return min(bisect.bisect_left(cum, rnd.random()), n - 1)
    return sample


def run(origin_port, learn, args, ahead=False):
    cmd = [os.path.join(ROOT, "src/edgecache"), "-l", "127.0.0.1:0", "-o",
           "http://127.0.0.1:%d" % origin_port, "-w", "1", "--admin", "off"]
    if learn:
        cmd += ["-p", "cache.learn_freshness=true", "-p", "cache.learn_max=%ds" % args.learn_max]
    if ahead:
        cmd += ["-p", "cache.refresh_ahead_pct=20"]
    ec, port = start(cmd, r"listening on 127\.0\.0\.1:(\d+)", "err")
    try:
        o = http.client.HTTPConnection("127.0.0.1", origin_port)
        o.request("POST", "/__reset")
        o.getresponse().read()
        rnd = random.Random(1)
        sample = zipf_sampler(args.keys, 1.0, rnd)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        n = hits = stale = 0
        t0 = time.time()
        while time.time() - t0 < args.seconds:
            k = sample()
            iv = INTERVALS[k % len(INTERVALS)]
            path = "/obj%d?size=512" % k + ("&change=%d" % iv if iv else '&etag="fixed%d"' % k)
            if args.explicit:
                path += "&cc=max-age=5"
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            n += 1
            cs = r.getheader("Cache-Status", "")
            if re.search(r"(^|;)\s*hit\b", cs):
                hits += 1
            v = r.getheader("X-Origin-Version")
            if iv and v is not None and int(v) < int(time.time() // iv):
                stale += 1
            # pace to the rate
            ahead = n / args.rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
        o.request("GET", "/__stats")
        st = json.loads(o.getresponse().read())
        return {"requests": n, "hit_ratio": hits / n, "origin": st["requests"], "stale": stale}
    except Exception:
        time.sleep(0.5)
        sys.stderr.write("edgecache log tail:\n" + "".join(ec.log_tail))
        raise
    finally:
        ec.send_signal(signal.SIGTERM)
        ec.wait(15)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=200, help="requests per second")
    ap.add_argument("--keys", type=int, default=400)
    ap.add_argument("--learn-max", type=int, default=3600)
    args = ap.parse_args()
    args.explicit = False
    origin, oport = start([sys.executable, os.path.join(ROOT, "tools/ec-testorigin"), "--port", "0"],
                          r"listening on 127\.0\.0\.1:(\d+)", "out")
    try:
        res = {"off": run(oport, False, args), "on": run(oport, True, args)}
        args.explicit = True
        ra = {"off": run(oport, False, args), "on": run(oport, False, args, ahead=True)}
    finally:
        origin.terminate()
        origin.wait(5)
    print("freshness predictor replay: Zipf 1.0 over %d keys, %.0f req/s for %.0f s, "
          "objects changing every 5/30/120 s or never" % (args.keys, args.rate, args.seconds))
    print("%-10s %9s %10s %16s %14s" % ("predictor", "requests", "hit ratio", "origin requests",
                                        "stale answers"))
    for name in ("off", "on"):
        r = res[name]
        print("%-10s %9d %9.1f%% %16d %13.2f%%" % (name, r["requests"], 100 * r["hit_ratio"],
                                                  r["origin"], 100.0 * r["stale"] / r["requests"]))
    print()
    print("refresh-ahead (cache.refresh_ahead_pct=20), the same trace with max-age=5 on every object")
    print("%-14s %9s %10s %16s" % ("refresh-ahead", "requests", "hit ratio", "origin requests"))
    for name in ("off", "on"):
        r = ra[name]
        print("%-14s %9d %9.1f%% %16d" % (name, r["requests"], 100 * r["hit_ratio"], r["origin"]))


if __name__ == "__main__":
    main()
