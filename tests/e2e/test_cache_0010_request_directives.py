# test_cache_0010_request_directives — request Cache-Control (RFC 9111 §5.2.1)
# and Pragma (§5.4): no-cache and a max-age below the stored response's age make
# the cache validate with the origin (Cache-Status fwd=request), min-fresh asks
# for remaining freshness, max-stale accepts stale responses, no-store keeps the
# response out of the cache; Pragma: no-cache counts only without Cache-Control.

import pytest

from e2elib import pattern_bytes, req_header, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_not_stored,
    assert_stored_miss,
    cache_status,
    origin_count,
    origin_entries,
)


def obj(path, **extra):
    # Age 5 from the origin: the stored response is 5 s old from the start
    return target(path, cc="max-age=60", hdr="Age:5", etag='"v1"', size=20, **extra)


@pytest.mark.parametrize(
    "path,hdrs",
    [
        ("/q1", [("Cache-Control", "no-cache")]),
        ("/q2", [("Cache-Control", "max-age=0")]),
        ("/q3", [("Cache-Control", "max-age=2")]),
        ("/q4", [("Cache-Control", "min-fresh=100")]),
        ("/q5", [("Pragma", "no-cache")]),
        ("/q6", [("Cache-Control", "NO-CACHE")]),
    ],
    ids=["no-cache", "max-age=0", "max-age-below-age", "min-fresh", "pragma", "case"],
)
def test_request_forces_validation(shared, path, hdrs):
    origin, edgecache = shared
    tgt = obj(path)
    assert_stored_miss(edgecache.get(tgt))
    assert_hit(edgecache.get(tgt))
    r = edgecache.get(tgt, headers=hdrs)
    assert r.status == 200 and r.body == pattern_bytes(20), r
    cs = cache_status(r)
    assert "hit" not in cs and cs.get("fwd") == "request", "%r: %r" % (hdrs, r.header_all("cache-status"))
    ent = origin_entries(origin, path)
    assert len(ent) == 2, "%r must reach the origin" % hdrs
    assert req_header(ent[1], "if-none-match") == ['"v1"'], "validation with the stored ETag"
    assert cs.get("fwd-status") == 304, cs
    # the validated response stays stored; a plain request is a hit again
    assert_hit(edgecache.get(tgt))
    assert origin_count(origin, path) == 2


@pytest.mark.parametrize(
    "path,hdrs",
    [
        ("/p1", [("Cache-Control", "max-age=30")]),  # older than 5 s is fine
        ("/p2", [("Cache-Control", "min-fresh=10")]),
        ("/p3", [("Cache-Control", "max-stale")]),
        # Pragma is ignored when Cache-Control is present (RFC 9111 §5.4)
        ("/p4", [("Pragma", "no-cache"), ("Cache-Control", "max-age=30")]),
        ("/p5", [("Cache-Control", "no-transform, x-unknown=1")]),
    ],
    ids=["max-age", "min-fresh", "max-stale", "pragma-with-cc", "unknown"],
)
def test_request_allows_the_hit(shared, path, hdrs):
    origin, edgecache = shared
    tgt = obj(path)
    edgecache.get(tgt)
    assert_hit(edgecache.get(tgt, headers=hdrs))
    assert origin_count(origin, path) == 1


def test_max_stale_serves_stale(shared):
    origin, edgecache = shared
    tgt = target("/ms", cc="max-age=5", hdr="Age:10", etag='"v1"', size=20)
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("Cache-Control", "max-stale=60")])
    assert_hit(r)
    assert int(r.header("age")) >= 10
    r = edgecache.get(tgt, headers=[("Cache-Control", "max-stale")])
    assert_hit(r)
    assert origin_count(origin, "/ms") == 1
    # max-stale=1 is not enough for a response 5 s past its lifetime
    r = edgecache.get(tgt, headers=[("Cache-Control", "max-stale=1")])
    assert "hit" not in cache_status(r)
    assert origin_count(origin, "/ms") == 2


def test_request_no_store(shared):
    origin, edgecache = shared
    tgt = target("/nst", cc="max-age=60", size=20)
    r = edgecache.get(tgt, headers=[("Cache-Control", "no-store")])
    assert r.status == 200 and r.body == pattern_bytes(20)
    assert_not_stored(r, "req-no-store")
    assert_stored_miss(edgecache.get(tgt))
    # no-store does not stop the cache from answering from storage (§5.2.1.5)
    assert_hit(edgecache.get(tgt, headers=[("Cache-Control", "no-store")]))
    assert origin_count(origin, "/nst") == 2


def test_no_cache_without_validator_refetches(shared):
    origin, edgecache = shared
    tgt = target("/ncv", cc="max-age=60", size=20, **{"shift@2": 4})
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("Cache-Control", "no-cache")])
    assert r.status == 200 and r.body == pattern_bytes(20, 4)
    cs = cache_status(r)
    assert cs.get("fwd") == "request" and cs.get("stored") is True, cs
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(20, 4), "the refetched response replaced the stored one"
    assert origin_count(origin, "/ncv") == 2
