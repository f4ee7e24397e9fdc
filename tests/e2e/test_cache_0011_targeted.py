# test_cache_0011_targeted — targeted cache control (RFC 9213): CDN-Cache-Control
# and Surrogate-Control, when present and valid, replace Cache-Control (and
# Expires) for this cache, in the configured order (cache.targeted), and are not
# sent downstream; Cache-Control still reaches the client unchanged. A target
# not in cache.targeted is an ordinary field: ignored for caching and passed on.

import pytest

from e2elib import pattern_bytes, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_not_stored,
    assert_stored_miss,
    origin_count,
)

TARGETED = ("cdn-cache-control", "surrogate-control")


def no_targets(r):
    for f in TARGETED:
        assert r.header(f) is None, "%s was sent downstream: %r" % (f, r)


@pytest.mark.parametrize(
    "path,hdr",
    [
        ("/t1", "CDN-Cache-Control:max-age=60"),
        ("/t2", "Surrogate-Control:max-age=60"),
        ("/t3", "CDN-Cache-Control:public, max-age=60"),
    ],
    ids=["cdn-cache-control", "surrogate-control", "cdn-public"],
)
def test_target_overrides_no_store(shared, path, hdr):
    origin, edgecache = shared
    tgt = target(path, cc="no-store", hdr=hdr, size=10)
    r = edgecache.get(tgt)
    cs = assert_stored_miss(r)
    assert 55 <= cs["ttl"] <= 60, cs
    no_targets(r)
    assert r.header("cache-control") == "no-store", "Cache-Control is for downstream caches"
    r = edgecache.get(tgt)
    assert_hit(r)
    no_targets(r)
    assert r.header("cache-control") == "no-store" and r.body == pattern_bytes(10)
    assert origin_count(origin, path) == 1


def test_target_no_store_overrides_max_age(shared):
    origin, edgecache = shared
    tgt = target("/t4", cc="max-age=60", hdr="CDN-Cache-Control:no-store", size=10)
    for _ in range(2):
        r = edgecache.get(tgt)
        assert_not_stored(r, "no-store")
        no_targets(r)
        assert r.header("cache-control") == "max-age=60"
    assert origin_count(origin, "/t4") == 2


def test_target_overrides_expires(shared):
    origin, edgecache = shared
    # RFC 9213 §2.2: the targeted field replaces Expires too
    tgt = target("/t5", expires=60, hdr="CDN-Cache-Control:no-store", size=10)
    for _ in range(2):
        assert_not_stored(edgecache.get(tgt))
    assert origin_count(origin, "/t5") == 2


def test_cdn_cache_control_before_surrogate_control(shared):
    origin, edgecache = shared
    tgt = target("/t6", hdr=["Surrogate-Control:no-store", "CDN-Cache-Control:max-age=60"], size=10)
    assert_stored_miss(edgecache.get(tgt))
    r = edgecache.get(tgt)
    assert_hit(r)
    no_targets(r)
    tgt = target("/t7", hdr=["Surrogate-Control:max-age=60", "CDN-Cache-Control:no-store"], size=10)
    for _ in range(2):
        no_targets(edgecache.get(tgt))
    assert origin_count(origin, "/t7") == 2


def test_invalid_cdn_cache_control_falls_back(shared):
    origin, edgecache = shared
    # a Structured Fields parse error discards the field (RFC 9213 §2.1): Cache-Control applies
    tgt = target("/t8", cc="max-age=60", hdr="CDN-Cache-Control:max-age=(", size=10)
    edgecache.get(tgt)
    assert_hit(edgecache.get(tgt))
    assert origin_count(origin, "/t8") == 1


def test_target_list_is_configurable(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.targeted=Surrogate-Control")
    tgt = target("/t9", cc="no-store", hdr="CDN-Cache-Control:max-age=60", size=10)
    for _ in range(2):
        r = ec.get(tgt)
        assert_not_stored(r, "no-store")
        assert r.header("cdn-cache-control") == "max-age=60", \
            "a field that is not one of our targets is passed on"
    assert origin_count(origin, "/t9") == 2
    tgt = target("/t10", cc="no-store", hdr="Surrogate-Control:max-age=60", size=10)
    r = ec.get(tgt)
    assert_stored_miss(r)
    assert r.header("surrogate-control") is None
    assert_hit(ec.get(tgt))
