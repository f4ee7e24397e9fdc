#!/usr/bin/python3
# coalesce-client.py — the load side of tools/bench/coalesce.sh: N concurrent cold
# requests for one URL, one connection each, all opened at once and driven from one
# thread with a selector (Python standard library only). Prints one JSON line:
#
#   {"n": N, "ok": responses with status 200 and the expected body,
#    "origin": requests the origin saw for the path (its /__stats),
#    "wall": seconds until the last response was complete,
#    "ttfb": [min, median, p90, max] seconds to a response's first byte,
#    "tfbb": the same to its first body byte, "done": the same to its last byte,
#    "bad": {first line of a failed response (and its size): count}}
#
#   coalesce-client.py --port P --path /x?... --origin-port O --size BYTES [-n 200]
#
# The body is the test origin's pattern (byte i = 'a' + i % 26), checked per response.

import argparse
import json
import selectors
import socket
import sys
import time
import urllib.request


def pattern(n):
    a = bytes(range(ord("a"), ord("a") + 26))
    return (a * (n // 26 + 1))[:n]


def body_of(buf):
    """The decoded body of a complete response in buf, or None."""
    head, sep, rest = bytes(buf).partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 200"):
        return None
    h = head.lower()
    if b"transfer-encoding: chunked" in h:
        out = bytearray()
        while True:
            line, sep, rest = rest.partition(b"\r\n")
            n = int(line.split(b";")[0], 16)
            if n == 0:
                return bytes(out)
            out += rest[:n]
            rest = rest[n + 2:]
    return rest


def complete(buf):
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return False, None
    head = bytes(buf[:i]).lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(buf) - i - 4 >= int(line.split(b":")[1]), i + 4
        if line.startswith(b"transfer-encoding:") and b"chunked" in line:
            return buf.endswith(b"\r\n0\r\n\r\n"), i + 4
    return False, i + 4


def quantiles(xs):
    xs = sorted(xs)
    if not xs:
        return None
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return [round(xs[0], 4), round(pick(0.5), 4), round(pick(0.9), 4), round(xs[-1], 4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--origin-port", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()

    req = ("GET %s HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: coalesce-client\r\n\r\n"
           % a.path).encode()
    sel = selectors.DefaultSelector()
    conns = []
    t0 = time.monotonic()
    for _ in range(a.n):
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", a.port))
        except BlockingIOError:
            pass
        c = {"sock": s, "sent": 0, "buf": bytearray(), "first": None, "body": None,
             "done": None, "head_end": None}
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    pending = a.n
    while pending and time.monotonic() - t0 < a.timeout:
        for key, ev in sel.select(0.5):
            c = key.data
            now = time.monotonic() - t0
            if ev & selectors.EVENT_WRITE:
                try:
                    c["sent"] += c["sock"].send(req[c["sent"]:])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    c["done"] = now
                    sel.unregister(c["sock"])
                    pending -= 1
                    continue
                if c["sent"] == len(req):
                    sel.modify(c["sock"], selectors.EVENT_READ, c)
                continue
            try:
                data = c["sock"].recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                if c["first"] is None:
                    c["first"] = now
                c["buf"] += data
            done, head_end = complete(c["buf"])
            if head_end is not None and c["body"] is None and len(c["buf"]) > head_end:
                c["body"] = now
            if done or not data:
                c["done"] = now
                sel.unregister(c["sock"])
                pending -= 1
    for c in conns:
        c["sock"].close()
    want = pattern(a.size)
    good = [c["done"] is not None and body_of(c["buf"]) == want for c in conns]
    ok = sum(good)
    bad = {}  # what the failures looked like: their first line -> count
    for c, g in zip(conns, good):
        if not g:
            line = bytes(c["buf"]).split(b"\r\n", 1)[0][:80].decode("latin-1") or "<nothing>"
            key = "%s (%d bytes)" % (line, len(c["buf"])) if len(bad) < 5 else line
            bad[key] = bad.get(key, 0) + 1
    with urllib.request.urlopen("http://127.0.0.1:%d/__stats" % a.origin_port, timeout=5) as r:
        stats = json.load(r)
    path = a.path.split("?", 1)[0]
    done = [c["done"] for c in conns if c["done"] is not None]
    print(json.dumps({
        "n": a.n,
        "ok": ok,
        "origin": stats["paths"].get(path, 0),
        "wall": round(max(done), 4) if len(done) == a.n else None,
        "ttfb": quantiles([c["first"] for c in conns if c["first"] is not None]),
        "tfbb": quantiles([c["body"] for c in conns if c["body"] is not None]),
        "done": quantiles(done),
        "bad": bad,
    }))
    return 0 if ok == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
