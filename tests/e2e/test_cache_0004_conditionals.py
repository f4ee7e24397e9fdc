# test_cache_0004_conditionals — client preconditions answered from the cache
# (RFC 9110 §13, RFC 9111 §4.3.2): If-None-Match (weak comparison) and
# If-Modified-Since give 304 without a body, If-Match and If-Unmodified-Since
# give 412, evaluated in RFC 9110 §13.2.2's order, without asking the origin. On
# a miss the cache fetches the full response (and stores it), then answers the
# client's condition itself.

import time

import pytest

from e2elib import pattern_bytes, req_header, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    cache_status,
    http_date,
    origin_count,
    origin_entries,
)

NOW = time.time()
LM = http_date(NOW - 3600)
BEFORE_LM = http_date(NOW - 7200)
AFTER_LM = http_date(NOW - 60)


def obj(path):
    """The stored object of these checks: ETag "v1", Last-Modified an hour ago."""
    return target(path, cc="max-age=60", etag='"v1"', lm=LM, size=100)


def check_304(r):
    assert r.status == 304, r
    assert r.body == b""
    assert r.header("etag") == '"v1"', "a 304 carries the ETag (RFC 9110 §15.4.5)"
    assert r.header("cache-control") == "max-age=60", "a 304 carries Cache-Control"
    assert r.header("date") is not None
    assert r.header("transfer-encoding") is None


CASES = [
    # (request fields, expected status)
    ([("If-None-Match", '"v1"')], 304),
    ([("If-None-Match", 'W/"v1"')], 304),  # weak comparison (§13.1.2)
    ([("If-None-Match", '"x", W/"v1"')], 304),
    ([("If-None-Match", '"x"'), ("If-None-Match", '"v1"')], 304),  # lines combine
    ([("If-None-Match", "*")], 304),
    ([("If-None-Match", '"v2"')], 200),
    ([("If-Modified-Since", LM)], 304),
    ([("If-Modified-Since", AFTER_LM)], 304),
    ([("If-Modified-Since", BEFORE_LM)], 200),
    ([("If-Modified-Since", "not a date")], 200),
    # If-None-Match present: If-Modified-Since is ignored (§13.1.3)
    ([("If-None-Match", '"v2"'), ("If-Modified-Since", AFTER_LM)], 200),
    ([("If-Match", '"v1"')], 200),
    ([("If-Match", "*")], 200),
    ([("If-Match", '"v2"')], 412),
    ([("If-Match", 'W/"v1"')], 412),  # strong comparison (§13.1.1)
    ([("If-Unmodified-Since", AFTER_LM)], 200),
    ([("If-Unmodified-Since", BEFORE_LM)], 412),
    # If-Match present: If-Unmodified-Since is ignored (§13.2.2 step 2)
    ([("If-Match", '"v1"'), ("If-Unmodified-Since", BEFORE_LM)], 200),
    # If-Match is evaluated before If-None-Match (§13.2.2)
    ([("If-Match", '"v2"'), ("If-None-Match", '"v1"')], 412),
]


def test_conditionals_from_cache(shared):
    origin, edgecache = shared
    tgt = obj("/c")
    assert_stored_miss(edgecache.get(tgt))
    bad = []
    for hdrs, want in CASES:
        r = edgecache.get(tgt, headers=hdrs)
        cs = cache_status(r)
        if r.status != want or "hit" not in cs:
            bad.append("%r: got %d (%s), expected %d from cache" % (
                hdrs, r.status, r.header("cache-status"), want))
            continue
        if want == 304:
            check_304(r)
        elif want == 200:
            assert r.body == pattern_bytes(100) and r.header("content-length") == "100"
        else:
            assert r.status == 412
    assert not bad, "\n".join(bad)
    assert origin_count(origin, "/c") == 1, "conditionals on a stored response never reach the origin"


def test_head_conditional_from_cache(shared):
    origin, edgecache = shared
    tgt = obj("/ch")
    edgecache.get(tgt)
    r = edgecache.get(tgt, method="HEAD", headers=[("If-None-Match", '"v1"')])
    check_304(r)
    r = edgecache.get(tgt, method="HEAD", headers=[("If-Match", '"zz"')])
    assert r.status == 412
    assert origin_count(origin, "/ch") == 1


def test_weak_etag_stored(shared):
    origin, edgecache = shared
    tgt = target("/cw", cc="max-age=60", etag='W/"w1"', size=10)
    edgecache.get(tgt)
    for v in ('W/"w1"', '"w1"'):
        r = edgecache.get(tgt, headers=[("If-None-Match", v)])
        assert r.status == 304 and r.header("etag") == 'W/"w1"', (v, r)
    # a weak entity tag never matches If-Match (strong comparison)
    r = edgecache.get(tgt, headers=[("If-Match", 'W/"w1"')])
    assert r.status == 412
    assert origin_count(origin, "/cw") == 1


@pytest.mark.parametrize(
    "path,hdrs,want",
    [
        ("/cm1", [("If-None-Match", '"v1"')], 304),
        ("/cm2", [("If-None-Match", 'W/"v1"')], 304),
        ("/cm3", [("If-None-Match", '"nope"')], 200),
        ("/cm4", [("If-Modified-Since", LM)], 304),
        ("/cm5", [("If-Match", '"nope"')], 412),
    ],
    ids=["inm-match", "inm-weak", "inm-other", "ims", "if-match-fails"],
)
def test_conditional_on_a_miss(shared, path, hdrs, want):
    origin, edgecache = shared
    tgt = obj(path)
    r = edgecache.get(tgt, headers=hdrs)
    assert r.status == want, r
    if want == 304:
        check_304(r)
    elif want == 200:
        assert r.body == pattern_bytes(100)
    # the cache asked for the full response, so that it can store it
    ent = origin_entries(origin, path)
    assert len(ent) == 1
    for f in ("if-none-match", "if-modified-since", "if-match"):
        assert req_header(ent[0], f) == [], "%s was forwarded on a miss the cache fills" % f
    assert cache_status(r).get("stored") is True, r.header("cache-status")
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(100)
    assert origin_count(origin, path) == 1


def test_stored_non_2xx_ignores_preconditions(shared):
    origin, edgecache = shared
    # RFC 9110 §13.2.1: preconditions are ignored when the response would not be 2xx/412
    tgt = target("/c404", status=404, cc="max-age=60", etag='"n1"', size=10)
    assert edgecache.get(tgt).status == 404
    r = edgecache.get(tgt, headers=[("If-None-Match", '"n1"')])
    assert r.status == 404 and r.body == pattern_bytes(10), r
    r = edgecache.get(tgt, headers=[("If-Match", '"other"')])
    assert r.status == 404, r
    assert origin_count(origin, "/c404") == 1
