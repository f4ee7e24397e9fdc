# test_cache_0008_truncated — a cacheable response whose body ends early (the
# origin closes before the announced length or the last chunk) reaches the
# client as a broken response and is never stored (RFC 9111 §3.3 allows storing
# incomplete responses only as partial content, which edgecache does not keep):
# the next request goes to the origin again. A complete response for the same
# URL afterwards is stored as usual.

import pytest

from e2elib import IncompleteResponse, curl, partial_body, pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    origin_count,
)


def assert_broken(ec, tgt):
    with ec.client(timeout=10) as c:
        c.request("GET", tgt)
        try:
            r = c.read_final()
        except IncompleteResponse as e:
            return e
        raise AssertionError("a truncated origin body arrived as a complete response: %r" % r)


@pytest.mark.parametrize("chunked", [0, 1], ids=["length", "chunked"])
def test_truncated_body_is_not_stored(shared, chunked):
    origin, edgecache = shared
    path = "/tr%d" % chunked
    # the origin cuts the first two answers, the third is complete
    tgt = target(path, cc="max-age=60", size=10000, truncate=5000, chunked=chunked, chunk=1000,
                 **{"truncate@3": 10000})
    for i in range(2):
        e = assert_broken(edgecache, tgt)
        assert partial_body(e.partial) == pattern_bytes(5000)
        assert origin_count(origin, path) == i + 1, "the cut response was stored"
    r = edgecache.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(10000)
    assert_stored_miss(r)
    assert origin_count(origin, path) == 3
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(10000) and r.header("x-origin-seq") == "3"
    assert origin_count(origin, path) == 3


def test_truncated_curl_exit_18(shared, tmp_path):
    origin, edgecache = shared
    tgt = target("/trc", cc="max-age=60", size=10000, truncate=5000)
    for i in range(2):
        res = curl(edgecache.base_url + tgt, output=tmp_path / "b")
        assert res.rc == 18, "curl should report a partial transfer (18): %r" % res
        assert res.body() == pattern_bytes(5000)
    assert origin_count(origin, "/trc") == 2


def test_truncated_large_body_is_not_stored(shared):
    # cut after the daemon has streamed (and started storing) a good part of it
    origin, edgecache = shared
    tgt = target("/trl", cc="max-age=60", size=1000000, truncate=700000, chunked=1, chunk=65536)
    for _ in range(2):
        assert_broken(edgecache, tgt)
    assert origin_count(origin, "/trl") == 2


def test_timed_out_body_is_not_stored(origin, start_edgecache):
    # the origin stalls mid-body past origin.between_bytes_timeout on its first answer
    ec = start_edgecache("-p", "origin.between_bytes_timeout=300ms")
    tgt = target("/trt", cc="max-age=60", size=100000, body_delay=3, **{"body_delay@2": 0})
    e = assert_broken(ec, tgt)
    assert partial_body(e.partial) == pattern_bytes(50000)
    r = ec.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(100000) and r.header("x-origin-seq") == "2"
    assert_stored_miss(r)
    assert_hit(ec.get(tgt))
    assert origin_count(origin, "/trt") == 2
