# test_cache_0013_http10_pipelining — hits on the transport's edge cases: an
# HTTP/1.0 client gets a complete, correctly framed hit (and its connection
# handling), and pipelined requests answered from the cache come back complete
# and in order, also mixed with misses and with HEAD.

from e2elib import build_request, pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    cache_status,
    origin_count,
)


def test_http10_hit(shared):
    origin, edgecache = shared
    tgt = target("/h10", cc="max-age=60", size=3000)
    edgecache.get(tgt)
    with edgecache.client() as c:
        c.request("GET", tgt, version="HTTP/1.0")
        r = c.read_final()
        assert_hit(r)
        assert r.version == "HTTP/1.1"
        assert r.body == pattern_bytes(3000) and r.framing == "length"
        assert r.header("transfer-encoding") is None
        assert c.closed(3), "an HTTP/1.0 request without keep-alive ends the connection"
    with edgecache.client() as c:
        for _ in range(2):
            c.request("GET", tgt, version="HTTP/1.0", headers=[("Connection", "keep-alive")])
            r = c.read_final()
            assert_hit(r)
            assert r.body == pattern_bytes(3000)
    assert origin_count(origin, "/h10") == 1
    # an HTTP/1.0 request without Host: another key (no host), but a correct answer
    with edgecache.client() as c:
        c.send(build_request("GET", tgt, version="HTTP/1.0", host=None))
        r = c.read_final()
        assert r.status == 200 and r.body == pattern_bytes(3000)


def test_http10_miss_of_chunked_origin_then_hit(shared):
    origin, edgecache = shared
    tgt = target("/h10c", cc="max-age=60", size=20000, chunked=1, chunk=3000)
    with edgecache.client() as c:
        c.request("GET", tgt, version="HTTP/1.0")
        r = c.read_final()
        assert r.status == 200 and r.body == pattern_bytes(20000)
        assert r.header("transfer-encoding") is None, "no chunked to an HTTP/1.0 client"
    with edgecache.client() as c:
        c.request("GET", tgt, version="HTTP/1.0")
        r = c.read_final()
        assert_hit(r)
        assert r.body == pattern_bytes(20000) and r.header("content-length") == "20000"
    assert origin_count(origin, "/h10c") == 1


def test_pipelined_hits_in_order(shared):
    origin, edgecache = shared
    sizes = [100, 70000, 1, 5000]
    tgts = [target("/pp%d" % i, cc="max-age=60", size=n) for i, n in enumerate(sizes)]
    for t in tgts:
        edgecache.get(t)
    with edgecache.client(timeout=10) as c:
        c.send(b"".join(build_request("GET", t) for t in tgts + tgts[::-1]))
        for t, n in zip(tgts + tgts[::-1], sizes + sizes[::-1]):
            r = c.read_final()
            assert_hit(r)
            assert r.body == pattern_bytes(n), "pipelined response for %s out of order or damaged" % t
        assert not c.poll(0.2), "nothing after the last response"
    for i in range(len(sizes)):
        assert origin_count(origin, "/pp%d" % i) == 1


def test_pipelined_mix_of_hits_misses_and_head(shared):
    origin, edgecache = shared
    hit = target("/pm-hit", cc="max-age=60", size=300)
    edgecache.get(hit)
    reqs = [
        ("GET", hit, 300, True),
        ("GET", target("/pm-miss", cc="max-age=60", size=400), 400, False),
        ("HEAD", hit, 0, True),
        ("GET", target("/pm-pass", size=500), 500, False),
        ("GET", hit, 300, True),
        ("GET", target("/pm-miss", cc="max-age=60", size=400), 400, True),
    ]
    with edgecache.client(timeout=10) as c:
        c.send(b"".join(build_request(m, t) for m, t, _, _ in reqs))
        for m, t, n, is_hit in reqs:
            r = c.read_final(method=m)
            assert r.status == 200
            assert ("hit" in cache_status(r)) == is_hit, (m, t, r.header("cache-status"))
            assert r.body == pattern_bytes(n)
            if m == "HEAD":
                assert r.header("content-length") == "300"
    assert origin_count(origin, "/pm-hit") == 1
    assert origin_count(origin, "/pm-miss") == 1
    assert origin_count(origin, "/pm-pass") == 1
