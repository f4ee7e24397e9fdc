# test_cache_0009_only_if_cached — Cache-Control: only-if-cached in a request
# (RFC 9111 §5.2.1.7): the cache answers from storage or with 504, and never
# contacts the origin.

from e2elib import pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    cache_status,
    origin_count,
)

OIC = [("Cache-Control", "only-if-cached")]


def test_miss_is_504_without_the_origin(shared):
    origin, edgecache = shared
    tgt = target("/o1", cc="max-age=60", size=10)
    r = edgecache.get(tgt, headers=OIC)
    assert r.status == 504, r
    assert origin_count(origin, "/o1") == 0, "only-if-cached must not reach the origin"
    assert "hit" not in cache_status(r)
    # nothing was stored by it: a plain GET is a miss
    assert_stored_miss(edgecache.get(tgt))
    assert origin_count(origin, "/o1") == 1


def test_stored_fresh_is_served(shared):
    origin, edgecache = shared
    tgt = target("/o2", cc="max-age=60", size=10)
    edgecache.get(tgt)
    for h in (OIC, [("Cache-Control", "ONLY-IF-CACHED, max-stale")], [("Cache-Control", "only-if-cached")] * 2):
        r = edgecache.get(tgt, headers=h)
        assert_hit(r)
        assert r.body == pattern_bytes(10)
    r = edgecache.get(tgt, method="HEAD", headers=OIC)
    assert_hit(r)
    assert origin_count(origin, "/o2") == 1


def test_other_variant_is_504(shared):
    origin, edgecache = shared
    tgt = target("/o3", cc="max-age=60", hdr="Vary:Accept-Language", size=10)
    edgecache.get(tgt, headers=[("Accept-Language", "en")])
    assert_hit(edgecache.get(tgt, headers=OIC + [("Accept-Language", "en")]))
    r = edgecache.get(tgt, headers=OIC + [("Accept-Language", "de")])
    assert r.status == 504, r
    assert origin_count(origin, "/o3") == 1


def test_stale_is_504_or_stale_with_max_stale(shared):
    origin, edgecache = shared
    # stale on arrival: Age 10 > max-age 5
    tgt = target("/o4", cc="max-age=5", hdr="Age:10", etag='"s"', size=10)
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=OIC)
    assert r.status == 504, "a stale response needs the origin to be used: %r" % r
    r = edgecache.get(tgt, headers=[("Cache-Control", "only-if-cached, max-stale=60")])
    assert r.status == 200 and r.body == pattern_bytes(10), r
    assert "hit" in cache_status(r)
    assert origin_count(origin, "/o4") == 1
