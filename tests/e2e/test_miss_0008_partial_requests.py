# test_miss_0008_partial_requests — requests that need more than a plain stream of the
# object, joining a fill that is running (issue 5): Ranges (one, a suffix, several), a
# matching If-None-Match, a non-matching one, a failing If-Match and a HEAD all wait on
# the one origin request and get their own correct answer (206 / 304 / 200 / 412 /
# HEAD) once the object is complete, while plain GETs stream it; the origin sees one
# request.

import time

from e2elib import Client, pattern_bytes, target
from test_cache_0000_support import cache_status, origin_count
from test_miss_0000_support import burst, shot

SIZE = 30000


def test_range_conditional_and_head_join_a_running_fill(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    # head and the first half after 0.3 s, the rest 0.5 s later (complete at ~0.8 s)
    tgt = target("/mix", size=SIZE, cc="max-age=60", etag='"m1"', delay=0.3, body_delay=0.5)
    with Client(ec.port, timeout=5) as writer:
        writer.request("GET", tgt)
        time.sleep(0.1)
        kinds = {
            "range": shot(tgt, headers=[("Range", "bytes=0-9")]),
            "suffix": shot(tgt, headers=[("Range", "bytes=-5")]),
            "multi": shot(tgt, headers=[("Range", "bytes=0-1,29998-29999")]),
            "inm": shot(tgt, headers=[("If-None-Match", '"m1"')]),
            "inm-other": shot(tgt, headers=[("If-None-Match", '"zz"')]),
            "if-match": shot(tgt, headers=[("If-Match", '"zz"')]),
            "get": shot(tgt),
        }
        burst(ec.port, list(kinds.values()), timeout=5)
        w = writer.read_final()
    assert w.status == 200 and w.body == pattern_bytes(SIZE)
    for name, s in kinds.items():
        assert s.response is not None, (name, s)
    full = pattern_bytes(SIZE)

    r = kinds["range"].response
    assert r.status == 206 and r.body == full[:10], r
    assert r.header("content-range") == "bytes 0-9/%d" % SIZE

    r = kinds["suffix"].response
    assert r.status == 206 and r.body == full[-5:], r
    assert r.header("content-range") == "bytes %d-%d/%d" % (SIZE - 5, SIZE - 1, SIZE)

    r = kinds["multi"].response
    assert r.status == 206, r
    ctype = r.header("content-type")
    assert ctype.startswith("multipart/byteranges; boundary="), r
    assert b"Content-Range: bytes 0-1/%d" % SIZE in r.body and full[:2] in r.body, r.body
    assert b"Content-Range: bytes 29998-29999/%d" % SIZE in r.body, r.body

    r = kinds["inm"].response
    assert r.status == 304 and r.body == b"" and r.header("etag") == '"m1"', r

    r = kinds["inm-other"].response
    assert r.status == 200 and r.body == full, r

    r = kinds["if-match"].response
    assert r.status == 412, r

    r = kinds["get"].response
    assert r.status == 200 and r.body == full, r

    for name, s in kinds.items():
        assert s.t_done >= 0.5, "%s answered before the object was complete: %r" % (name, s)
        if name != "if-match":
            assert cache_status(s.response).get("collapsed") is True, (name, s.response)
    # one origin request for all of them
    assert origin_count(origin, "/mix") == 1, "every request must join the running fill"


def test_head_joins_a_running_fill(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = target("/head", size=SIZE, cc="max-age=60", etag='"h1"', delay=0.3, body_delay=0.5)
    with Client(ec.port, timeout=5) as writer:
        writer.request("GET", tgt)
        time.sleep(0.1)
        heads, _ = burst(ec.port, [shot(tgt, method="HEAD") for _ in range(5)], timeout=5)
        w = writer.read_final()
    assert w.status == 200 and w.body == pattern_bytes(SIZE)
    for s in heads:
        r = s.response
        assert r is not None and r.status == 200 and r.body == b"", s
        assert r.header("content-length") == str(SIZE) and r.header("etag") == '"h1"', r
        assert r.header("x-origin-seq") == "1" and cache_status(r).get("collapsed") is True, \
            "a HEAD for a key being fetched must wait on that fetch, not go to the origin: %r" % r
        assert s.t_done >= 0.5, "HEAD answered before the object was complete: %r" % s
    assert origin_count(origin, "/head") == 1, "HEADs joining a running fill reached the origin"


def test_many_ranges_on_a_cold_key_coalesce(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = target("/ranges", size=SIZE, cc="max-age=60", delay=0.5)
    shots = [shot(tgt, headers=[("Range", "bytes=%d-%d" % (i * 100, i * 100 + 99))])
             for i in range(50)]
    burst(ec.port, shots, timeout=5)
    full = pattern_bytes(SIZE)
    for i, s in enumerate(shots):
        r = s.response
        assert r is not None and r.status == 206, s
        assert r.body == full[i * 100:i * 100 + 100]
        assert r.header("content-range") == "bytes %d-%d/%d" % (i * 100, i * 100 + 99, SIZE)
    assert origin_count(origin, "/ranges") == 1
