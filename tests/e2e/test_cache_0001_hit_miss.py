# test_cache_0001_hit_miss — storing and reusing responses (RFC 9111 §3, §4, §4.2,
# §5.1, RFC 9211): a response with explicit freshness is stored on the first GET
# and served from cache afterwards (the origin sees one request), with a growing
# Age and a shrinking ttl; responses that must not or need not be stored are
# passed every time, and Cache-Status says why; s-maxage, max-age and Expires
# set the freshness lifetime in that order, and an expired response goes back
# to the origin.

import time

import pytest

from e2elib import pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    age_of,
    assert_hit,
    assert_not_stored,
    assert_stored_miss,
    cache_status,
    http_date,
    origin_count,
)


def test_miss_then_hit_with_growing_age(shared):
    origin, edgecache = shared
    tgt = target("/hm", cc="max-age=60", size=100, etag='"e1"')
    r1 = edgecache.get(tgt)
    assert r1.status == 200 and r1.body == pattern_bytes(100)
    cs1 = assert_stored_miss(r1)
    assert 0 < cs1["ttl"] <= 60, cs1

    r2 = edgecache.get(tgt)
    cs2 = assert_hit(r2)
    assert 0 < cs2["ttl"] <= 60, cs2
    assert r2.body == r1.body
    assert r2.header("content-length") == "100"
    for f in ("date", "etag", "cache-control", "content-type", "x-origin-seq"):
        assert r2.header(f) == r1.header(f), "stored %s differs on the hit: %r vs %r" % (f, r1, r2)
    assert age_of(r2) <= 1
    assert origin_count(origin, "/hm") == 1, "a hit must not reach the origin"

    time.sleep(1.1)
    r3 = edgecache.get(tgt)
    cs3 = assert_hit(r3)
    assert r3.body == r1.body
    assert age_of(r3) >= 1 and age_of(r3) >= age_of(r2) + 1, "Age grows while stored: %r then %r" % (
        r2.header("age"), r3.header("age"))
    assert cs3["ttl"] <= cs2["ttl"] - 1, "ttl shrinks while stored: %r then %r" % (cs2, cs3)
    assert cs3["ttl"] + age_of(r3) in (59, 60, 61), "ttl + Age is the lifetime"
    assert origin_count(origin, "/hm") == 1


def test_hit_on_the_same_connection_and_after_other_urls(shared):
    origin, edgecache = shared
    a = target("/ka", cc="max-age=60", size=10)
    b = target("/kb", cc="max-age=60", size=20)
    with edgecache.client() as c:
        for tgt, n in ((a, 10), (b, 20), (a, 10), (b, 20), (a, 10)):
            c.request("GET", tgt)
            r = c.read_final()
            assert r.status == 200 and r.body == pattern_bytes(n)
    assert origin_count(origin, "/ka") == 1 and origin_count(origin, "/kb") == 1


def test_no_freshness_no_validator_is_not_stored(shared):
    origin, edgecache = shared
    tgt = target("/nf", size=10)
    for i in range(3):
        r = edgecache.get(tgt)
        assert r.status == 200 and r.body == pattern_bytes(10)
        assert_not_stored(r, "no-freshness")
        assert r.header("x-origin-seq") == str(i + 1)
    assert origin_count(origin, "/nf") == 3


@pytest.mark.parametrize(
    "path,params,detail",
    [
        ("/ns1", dict(cc="no-store"), "no-store"),
        ("/ns2", dict(cc="max-age=60, no-store"), "no-store"),
        ("/ns3", dict(cc="private"), "private"),
        ("/ns4", dict(cc="private, max-age=60"), "private"),
        ("/ns5", dict(cc="max-age=60", hdr="Set-Cookie:session=abc"), "set-cookie"),
        ("/ns6", dict(cc="max-age=60", hdr="Vary:*"), "vary-star"),
    ],
    ids=["no-store", "max-age+no-store", "private", "private+max-age", "set-cookie", "vary-star"],
)
def test_not_stored_and_why(shared, path, params, detail):
    origin, edgecache = shared
    tgt = target(path, size=30, **params)
    for i in range(2):
        r = edgecache.get(tgt)
        assert r.status == 200 and r.body == pattern_bytes(30)
        assert_not_stored(r, detail)
        assert r.header("x-origin-seq") == str(i + 1)
    assert origin_count(origin, path) == 2


def test_authorization_needs_public_or_s_maxage(shared):
    origin, edgecache = shared
    auth = [("Authorization", "Basic dTpw")]
    # RFC 9111 §3.5: a response to a request with Authorization is not stored ...
    t1 = target("/auth1", cc="max-age=60", size=10)
    for _ in range(2):
        assert_not_stored(edgecache.get(t1, headers=auth), "authorization")
    assert origin_count(origin, "/auth1") == 2
    # ... unless public, s-maxage or must-revalidate allow it
    for i, cc in enumerate(("public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate")):
        path = "/auth-ok%d" % i
        tgt = target(path, cc=cc, size=10)
        assert_stored_miss(edgecache.get(tgt, headers=auth))
        assert_hit(edgecache.get(tgt, headers=auth))
        assert origin_count(origin, path) == 1, cc


def test_s_maxage_beats_max_age(shared):
    origin, edgecache = shared
    long_s = target("/sm1", cc="max-age=1, s-maxage=60", size=10)
    cs = assert_stored_miss(edgecache.get(long_s))
    assert 50 < cs["ttl"] <= 60, "s-maxage=60 sets a shared cache's lifetime: %r" % cs
    short_s = target("/sm2", cc="max-age=60, s-maxage=1", size=10, etag='"x"')
    cs = assert_stored_miss(edgecache.get(short_s))
    assert cs["ttl"] <= 1, "s-maxage=1 sets a shared cache's lifetime: %r" % cs
    time.sleep(1.2)
    cs = assert_hit(edgecache.get(long_s))
    assert 50 < cs["ttl"] < 60
    assert origin_count(origin, "/sm1") == 1, "s-maxage=60 keeps it fresh after max-age=1 ran out"
    r = edgecache.get(short_s)
    assert r.status == 200 and cache_status(r).get("fwd") == "stale", r
    assert origin_count(origin, "/sm2") == 2, "s-maxage=1 expired, whatever max-age says"


def test_expires(shared):
    origin, edgecache = shared
    tgt = target("/ex", expires=60, size=10)
    cs = assert_stored_miss(edgecache.get(tgt))
    assert 55 <= cs["ttl"] <= 61, cs
    cs = assert_hit(edgecache.get(tgt))
    assert 55 <= cs["ttl"] <= 61, cs
    assert origin_count(origin, "/ex") == 1

    # max-age beats Expires (RFC 9111 §5.3): a past Expires does not matter
    tgt = target("/ex2", expires=-100, cc="max-age=60", size=10)
    edgecache.get(tgt)
    assert_hit(edgecache.get(tgt))
    assert origin_count(origin, "/ex2") == 1

    # an Expires in the past means stale on arrival: each request goes to the origin
    tgt = target("/ex3", expires=-100, size=10)
    for _ in range(2):
        r = edgecache.get(tgt)
        assert r.status == 200 and "hit" not in cache_status(r)
    assert origin_count(origin, "/ex3") == 2

    # an invalid Expires ("0") means already expired (RFC 9111 §5.3)
    tgt = target("/ex4", hdr="Expires:0", size=10)
    for _ in range(2):
        r = edgecache.get(tgt)
        assert r.status == 200 and "hit" not in cache_status(r)
    assert origin_count(origin, "/ex4") == 2


def test_max_age_1_expires(shared):
    origin, edgecache = shared
    tgt = target("/ma1", cc="max-age=1", size=10, **{"shift@2": 3})
    r1 = edgecache.get(tgt)
    assert_stored_miss(r1)
    assert_hit(edgecache.get(tgt))
    time.sleep(1.5)
    r3 = edgecache.get(tgt)
    cs = cache_status(r3)
    assert r3.status == 200 and "hit" not in cs and cs.get("fwd") == "stale", r3
    assert cs.get("stored") is True, "the new response replaces the expired one: %r" % cs
    assert r3.body == pattern_bytes(10, 3) and r3.header("x-origin-seq") == "2"
    assert origin_count(origin, "/ma1") == 2
    r4 = edgecache.get(tgt)
    assert_hit(r4)
    assert r4.body == pattern_bytes(10, 3), "the refetched response is the one served now"
    assert origin_count(origin, "/ma1") == 2


def test_age_from_origin_counts(shared):
    origin, edgecache = shared
    # RFC 9111 §4.2.3: the Age the origin (an upstream cache) sent is part of the age
    tgt = target("/ag", cc="max-age=60", hdr="Age:30", size=10)
    cs = assert_stored_miss(edgecache.get(tgt))
    assert 28 <= cs["ttl"] <= 30, cs
    r = edgecache.get(tgt)
    cs = assert_hit(r)
    assert 30 <= age_of(r) <= 32 and 28 <= cs["ttl"] <= 30, (r.header("age"), cs)
    assert len(r.header_all("age")) == 1, "one Age field, ours"


def test_hop_by_hop_and_private_fields_are_not_stored(shared):
    origin, edgecache = shared
    # Connection-listed fields are hop-by-hop (RFC 9110 §7.6.1); the fields named by a
    # qualified private are not stored (RFC 9111 §5.2.2.7) while the rest is
    tgt = target("/hop", cc='max-age=60, private="X-Secret"', size=10,
                 hdr=["Connection:X-Hop", "X-Hop:1", "X-Secret:s3", "X-Plain:p"])
    r1 = edgecache.get(tgt)
    assert_stored_miss(r1)
    assert r1.header("x-hop") is None, "a field named by Connection was forwarded"
    assert r1.header("x-plain") == "p"
    r2 = edgecache.get(tgt)
    assert_hit(r2)
    assert r2.header("x-hop") is None and r2.header("x-secret") is None, r2
    assert r2.header("x-plain") == "p"
    assert origin_count(origin, "/hop") == 1


def test_heuristic_freshness(shared):
    origin, edgecache = shared
    # RFC 9111 §4.2.2: 10 % of the time since Last-Modified, capped at cache.heuristic_max (1 d)
    lm = http_date(time.time() - 1000)
    cs = assert_stored_miss(edgecache.get(target("/heu1", lm=lm, size=10)))
    assert 95 <= cs["ttl"] <= 101, cs
    cs = assert_stored_miss(edgecache.get(target("/heu2", lm=http_date(time.time() - 100 * 86400), size=10)))
    assert 86390 <= cs["ttl"] <= 86400, cs
    assert_hit(edgecache.get(target("/heu1", lm=lm, size=10)))
    # 302 is not heuristically cacheable (RFC 9110 §15.4.3)
    tgt = target("/heu3", status=302, lm=lm, hdr="Location:/x", size=10)
    for _ in range(2):
        r = edgecache.get(tgt)
        assert r.status == 302 and "hit" not in cache_status(r)
    assert origin_count(origin, "/heu3") == 2


def test_conflicting_max_age_is_stale(shared):
    origin, edgecache = shared
    # RFC 9111 §4.2.1 / docs/policy.md: conflicting freshness is stale
    tgt = target("/conf", hdr=["Cache-Control:max-age=60", "Cache-Control:max-age=30"], size=10)
    for _ in range(2):
        assert "hit" not in cache_status(edgecache.get(tgt))
    assert origin_count(origin, "/conf") == 2


def test_default_ttl(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.default_ttl=60")
    cs = assert_stored_miss(ec.get(target("/dt", size=10)))
    assert 55 <= cs["ttl"] <= 60, cs
    assert_hit(ec.get(target("/dt", size=10)))
    # only where a heuristic is allowed (docs/policy.md): not for a 302
    tgt = target("/dt302", status=302, hdr="Location:/x", size=10)
    for _ in range(2):
        assert "hit" not in cache_status(ec.get(tgt))
    # explicit freshness still wins
    assert_not_stored(ec.get(target("/dtns", cc="no-store", size=10)), "no-store")
    assert origin_count(origin, "/dt") == 1 and origin_count(origin, "/dt302") == 2


def test_stored_statuses_other_than_200(shared):
    origin, edgecache = shared
    # a stored 204 has no body and no framing fields (RFC 9110 §8.6, §15.3.5); the
    # strict reader rejects a 204 with Content-Length or Transfer-Encoding
    for path, status, n in (("/st204", 204, 0), ("/st404", 404, 10), ("/st301", 301, 10)):
        extra = {"size": n} if n else {}
        tgt = target(path, status=status, cc="max-age=60", hdr="Location:/elsewhere", **extra)
        r1 = edgecache.get(tgt)
        assert r1.status == status
        assert_stored_miss(r1)
        r2 = edgecache.get(tgt)
        assert_hit(r2, status)
        assert r2.body == r1.body == pattern_bytes(n) and r2.header("location") == "/elsewhere"
        assert origin_count(origin, path) == 1
