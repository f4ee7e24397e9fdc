# test_cache_0003_revalidation — stale responses with validators (RFC 9111 §4.3):
# once a stored response expires, the next request goes to the origin as a
# conditional GET (If-None-Match with the stored ETag, If-Modified-Since with
# Last-Modified); a 304 freshens the stored response and updates its header
# fields with the 304's (§3.2, §4.3.4) while the client gets the full stored
# 200; a 200 replaces the stored response; a 304 about another representation
# updates nothing. Cache-Status: fwd=stale, fwd-status=304 (RFC 9211 §2.3/2.4).
#
# Expiry: max-age=1 and a sleep, or an Age from the origin larger than the
# lifetime (stale on arrival); NAME@2 parameters make the origin's later answers
# differ from its first (see tools/ec-testorigin --help).

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


def test_etag_304_freshens_and_updates_fields(shared):
    origin, edgecache = shared
    # max-age=3 leaves a loaded machine room for the hit before it expires.
    tgt = target("/re", cc="max-age=3", etag='"v1"', size=100, hdr="X-Rev:1",
                 **{"hdr@2": "X-Rev:2", "cc@2": "max-age=60"})
    t1 = time.monotonic()
    r1 = edgecache.get(tgt)
    assert_stored_miss(r1)
    assert r1.header("x-rev") == "1"
    assert_hit(edgecache.get(tgt))
    time.sleep(max(0.0, t1 + 3.6 - time.monotonic()))

    r3 = edgecache.get(tgt)
    assert r3.status == 200 and r3.body == pattern_bytes(100), "the client asked unconditionally"
    assert r3.header("content-length") == "100"
    cs = cache_status(r3)
    assert cs.get("fwd") == "stale" and cs.get("fwd-status") == 304, r3.header_all("cache-status")
    assert "hit" not in cs
    ent = origin_entries(origin, "/re")
    assert len(ent) == 2
    assert req_header(ent[1], "if-none-match") == ['"v1"'], "revalidation sends the stored ETag"
    # the stored fields are updated by the 304's (RFC 9111 §3.2)
    assert r3.header_all("x-rev") == ["2"], r3
    assert r3.header_all("cache-control") == ["max-age=60"], r3
    assert r3.header("x-origin-seq") == "2"
    assert r3.header("etag") == '"v1"'
    assert r3.header("content-type") == "application/octet-stream"

    r4 = edgecache.get(tgt)
    cs = assert_hit(r4)
    assert cs["ttl"] > 50, "the 304's Cache-Control: max-age=60 now applies: %r" % cs
    assert r4.body == pattern_bytes(100)
    assert r4.header_all("x-rev") == ["2"] and r4.header("x-origin-seq") == "2"
    assert r4.header("date") == r3.header("date")
    assert int(r4.header("age")) <= 1, "the 304 reset the age"
    assert origin_count(origin, "/re") == 2


def test_last_modified_304(shared):
    origin, edgecache = shared
    lm = http_date(time.time() - 3600)
    tgt = target("/rl", cc="max-age=1", lm=lm, size=50, **{"cc@2": "max-age=60"})
    assert_stored_miss(edgecache.get(tgt))
    time.sleep(1.5)
    r = edgecache.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(50)
    cs = cache_status(r)
    assert cs.get("fwd") == "stale" and cs.get("fwd-status") == 304, cs
    ent = origin_entries(origin, "/rl")
    assert req_header(ent[1], "if-modified-since") == [lm], "revalidation sends Last-Modified"
    assert req_header(ent[1], "if-none-match") == []
    assert r.header("last-modified") == lm
    assert_hit(edgecache.get(tgt))
    assert origin_count(origin, "/rl") == 2


def test_200_on_revalidation_replaces(shared):
    origin, edgecache = shared
    # stale on arrival (Age 10 > max-age 5); the 2nd answer is a new representation
    tgt = target("/r2", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100,
                 **{"etag@2": '"v2"', "shift@2": 7, "cc@2": "max-age=60", "hdr@2": "X-New:1"})
    r1 = edgecache.get(tgt)
    assert r1.status == 200 and r1.body == pattern_bytes(100)
    r2 = edgecache.get(tgt)
    ent = origin_entries(origin, "/r2")
    assert len(ent) == 2 and req_header(ent[1], "if-none-match") == ['"v1"']
    assert r2.status == 200 and r2.body == pattern_bytes(100, 7) and r2.header("etag") == '"v2"'
    cs = cache_status(r2)
    assert cs.get("fwd") == "stale" and cs.get("stored") is True and cs.get("fwd-status") in (None, 200), cs
    r3 = edgecache.get(tgt)
    assert_hit(r3)
    assert r3.body == pattern_bytes(100, 7) and r3.header("etag") == '"v2"'
    assert r3.header("x-new") == "1" and r3.header("x-origin-seq") == "2"
    assert origin_count(origin, "/r2") == 2


def test_304_for_another_validator_is_not_applied(shared):
    origin, edgecache = shared
    # RFC 9111 §4.3.4: a 304 whose strong ETag matches no stored response updates
    # nothing; the client, which asked unconditionally, still gets a full and
    # consistent 200 (here: fetched again in full)
    tgt = target("/r3", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100,
                 **{"status@2": 304, "etag@2": '"v2"', "hdr@2": "X-Rev:2",
                    "status@3": 200, "shift@3": 2, "cc@3": "max-age=60"})
    assert edgecache.get(tgt).body == pattern_bytes(100)
    r = edgecache.get(tgt)
    assert r.status == 200, r
    assert r.header("etag") == '"v2"' and r.body == pattern_bytes(100, 2), \
        "the v1 body must not be served under the v2 304's fields: %r %r" % (r, r.body[:20])
    ent = origin_entries(origin, "/r3")
    assert len(ent) == 3, [e["headers"] for e in ent]
    assert req_header(ent[1], "if-none-match") == ['"v1"']
    assert req_header(ent[2], "if-none-match") == [] and req_header(ent[2], "if-modified-since") == [], \
        "the refetch is unconditional"
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.header("etag") == '"v2"' and r.body == pattern_bytes(100, 2)
    assert origin_count(origin, "/r3") == 3


def test_conditional_client_on_stale_object(shared):
    origin, edgecache = shared
    # the client's own If-None-Match matches the stored ETag: the cache revalidates
    # with its validator and answers the client 304 itself
    tgt = target("/r4", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100,
                 **{"hdr@2": "X-Rev:2", "cc@2": "max-age=60"})
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("If-None-Match", '"v1"')])
    assert r.status == 304 and r.body == b"", r
    assert r.header("etag") == '"v1"'
    ent = origin_entries(origin, "/r4")
    assert len(ent) == 2 and req_header(ent[1], "if-none-match") == ['"v1"']
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(100) and r.header("x-rev") == "2"
    assert origin_count(origin, "/r4") == 2


def test_no_validator_refetches_in_full(shared):
    origin, edgecache = shared
    tgt = target("/r5", cc="max-age=5", hdr="Age:10", size=20,
                 **{"shift@2": 1, "hdr@2": "X-Rev:2", "cc@2": "max-age=60"})
    assert edgecache.get(tgt).body == pattern_bytes(20)
    r = edgecache.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(20, 1)
    assert cache_status(r).get("fwd") == "stale"
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(20, 1)
    assert origin_count(origin, "/r5") == 2


def test_304_does_not_change_framing(shared):
    # RFC 9111 §3.2: Content-Length from a 304 is not applied to the stored response
    origin, edgecache = shared
    tgt = target("/rcl", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100,
                 **{"hdr@2": ["Content-Length:5", "X-Rev:2"], "cc@2": "max-age=60"})
    edgecache.get(tgt)
    for _ in range(2):
        r = edgecache.get(tgt)
        assert r.status == 200 and r.body == pattern_bytes(100)
        assert r.header_all("content-length") == ["100"], r
        assert r.header("x-rev") == "2"
    assert origin_count(origin, "/rcl") == 2


def test_response_no_cache_revalidates_every_time(shared):
    origin, edgecache = shared
    # RFC 9111 §5.2.2.4: stored, but never reused without validation
    tgt = target("/rnc", cc="no-cache", etag='"v1"', size=10)
    assert_stored_miss(edgecache.get(tgt))
    for i in range(2):
        r = edgecache.get(tgt)
        assert r.status == 200 and r.body == pattern_bytes(10)
        cs = cache_status(r)
        assert "hit" not in cs and cs.get("fwd-status") == 304, cs
        ent = origin_entries(origin, "/rnc")
        assert len(ent) == i + 2 and req_header(ent[-1], "if-none-match") == ['"v1"']


def test_client_validator_is_not_the_revalidation(shared):
    # the client's non-matching If-None-Match is answered by the cache after its own
    # revalidation with the stored ETag: a full 200
    origin, edgecache = shared
    tgt = target("/rcv", cc="max-age=5", hdr="Age:10", etag='"v1"', size=30, **{"cc@2": "max-age=60"})
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("If-None-Match", '"other"')])
    assert r.status == 200 and r.body == pattern_bytes(30), r
    ent = origin_entries(origin, "/rcv")
    assert req_header(ent[1], "if-none-match") == ['"v1"'], ent[1]["headers"]


def test_range_on_a_stale_object(shared):
    origin, edgecache = shared
    tgt = target("/rrg", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100, **{"cc@2": "max-age=60"})
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("Range", "bytes=10-19")])
    assert r.status == 206 and r.body == pattern_bytes(100)[10:20], r
    assert r.header("content-range") == "bytes 10-19/100"
    ent = origin_entries(origin, "/rrg")
    assert req_header(ent[1], "if-none-match") == ['"v1"'] and req_header(ent[1], "range") == []
    assert_hit(edgecache.get(tgt, headers=[("Range", "bytes=10-19")]), 206)
    assert origin_count(origin, "/rrg") == 2


def test_head_on_a_stale_object(shared):
    origin, edgecache = shared
    tgt = target("/rhd", cc="max-age=5", hdr="Age:10", etag='"v1"', size=100, **{"cc@2": "max-age=60"})
    edgecache.get(tgt)
    r = edgecache.get(tgt, method="HEAD")
    assert r.status == 200 and r.body == b"" and r.header("content-length") == "100", r
    assert origin_count(origin, "/rhd") == 2
    r = edgecache.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(100)


def test_must_revalidate_unreachable_origin_is_an_error(shared):
    # RFC 9111 §5.2.2.2: a stale must-revalidate response is never served without
    # validation; when the origin cannot be reached the cache answers an error
    origin, edgecache = shared
    tgt = target("/rmr", cc="max-age=5, must-revalidate", hdr="Age:10", etag='"v1"', size=10,
                 **{"reset@2": 1})
    assert edgecache.get(tgt).status == 200
    r = edgecache.get(tgt)
    assert 500 <= r.status <= 504, r
    assert r.body != pattern_bytes(10)


@pytest.mark.parametrize(
    "path,failure",
    [("/r6", {"status@2": 503, "cc@2": "no-store", "hdr@2": "X-Err:1"}), ("/r7", {"reset@2": 1})],
    ids=["503", "reset"],
)
def test_stale_if_error_serves_stored_on_error(shared, path, failure):
    # RFC 5861 §4 / RFC 9111 §4.3.3: within stale-if-error, a 5xx answer to the
    # revalidation, or none, may be replaced by the stored response (DESIGN.md "Bad
    # input": "or stale content where stale-if-error allows"; docs/policy.md:
    # "5xx / failure → serve stored if decision.serve_on_error")
    origin, edgecache = shared
    tgt = target(path, cc="max-age=5, stale-if-error=600", hdr="Age:10", etag='"v1"', size=40, **failure)
    assert edgecache.get(tgt).body == pattern_bytes(40)
    r = edgecache.get(tgt)
    assert origin_count(origin, path) >= 2  # a reset on a pooled connection is retried once
    assert r.status == 200 and r.body == pattern_bytes(40), \
        "stale-if-error=600: the stored 200 should be served instead of %r" % r
