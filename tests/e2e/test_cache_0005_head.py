# test_cache_0005_head — HEAD and the cache (RFC 9110 §9.3.2, RFC 9111 §4): a HEAD
# is answered from a stored GET response with the same header fields and
# Content-Length and no body, without asking the origin; a HEAD on a miss is
# forwarded as HEAD and answered with the origin's fields.

from e2elib import pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    cache_status,
    origin_count,
    origin_entries,
)


def test_head_from_stored_get(shared):
    origin, edgecache = shared
    tgt = target("/h", cc="max-age=60", etag='"h1"', size=1234)
    g = edgecache.get(tgt)
    assert_stored_miss(g)
    with edgecache.client() as c:
        c.request("HEAD", tgt)
        r = c.read_final(method="HEAD")
        assert_hit(r)
        assert r.body == b""
        assert r.header("content-length") == "1234", "HEAD from cache: the GET's Content-Length"
        for f in ("etag", "cache-control", "content-type", "date", "x-origin-seq"):
            assert r.header(f) == g.header(f), f
        # nothing followed the head: the next response on the connection parses cleanly
        c.request("GET", tgt)
        r = c.read_final()
        assert_hit(r)
        assert r.body == pattern_bytes(1234)
    assert origin_count(origin, "/h") == 1


def test_head_from_stored_chunked_get(shared):
    origin, edgecache = shared
    # the stored response came chunked: its length is known once stored
    tgt = target("/hc", cc="max-age=60", size=5000, chunked=1, chunk=1000)
    assert edgecache.get(tgt).body == pattern_bytes(5000)
    r = edgecache.get(tgt, method="HEAD")
    assert_hit(r)
    assert r.header("content-length") == "5000" and r.header("transfer-encoding") is None
    assert origin_count(origin, "/hc") == 1


def test_head_miss_is_fetched_as_get_and_stored(shared):
    # Like Varnish: a HEAD miss fetches the GET (a HEAD response has no body
    # to store), answers the HEAD from it, and the object serves later GETs.
    origin, edgecache = shared
    tgt = target("/hm", cc="max-age=60", size=50)
    r = edgecache.get(tgt, method="HEAD")
    assert r.status == 200 and r.body == b""
    assert r.header("content-length") == "50"
    assert "hit" not in cache_status(r)
    ent = origin_entries(origin, "/hm")
    assert [e["method"] for e in ent] == ["GET"]
    r = edgecache.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(50)
    assert_hit(r)
    assert len(origin_entries(origin, "/hm")) == 1
    r = edgecache.get(tgt, method="HEAD")
    assert_hit(r)
    assert r.header("content-length") == "50"
