# test_cache_0002_vary — secondary cache keys (RFC 9111 §4.1): a response with
# Vary is reused only for requests whose varied fields match the request that
# produced it, after normalisation (whitespace around list members; case for the
# Accept-* fields); several variants of one URL live side by side; an absent
# field only matches absent; Vary: * never matches. Cache-Status says
# fwd=vary-miss for a new variant of a stored URL.

import json

from e2elib import target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_not_stored,
    assert_stored_miss,
    cache_status,
    origin_count,
)



def ae_tgt(path):
    return target(path, cc="max-age=60", hdr="Vary:Accept-Encoding", echo=1)


def seen_value(resp, name):
    """The values of a request field as the origin saw it, from an echo=1 body."""
    d = json.loads(resp.body)
    return [v for (n, v) in d["headers"] if n.lower() == name.lower()]


def ae(v):
    return [("Accept-Encoding", v)]


def test_two_variants_each_hit(shared):
    origin, edgecache = shared
    tgt = ae_tgt("/v")
    r = edgecache.get(tgt, headers=ae("gzip"))
    assert_stored_miss(r, "uri-miss")
    assert seen_value(r, "accept-encoding") == ["gzip"]
    r = edgecache.get(tgt, headers=ae("br"))
    assert_stored_miss(r, "vary-miss")
    assert seen_value(r, "accept-encoding") == ["br"]
    assert origin_count(origin, "/v") == 2

    for _ in range(2):
        for v in ("gzip", "br"):
            r = edgecache.get(tgt, headers=ae(v))
            assert_hit(r)
            assert seen_value(r, "accept-encoding") == [v], "the %s request got another variant" % v
            assert r.header("vary") == "Accept-Encoding"
    assert origin_count(origin, "/v") == 2


def test_normalised_values_share_a_variant(shared):
    origin, edgecache = shared
    tgt = ae_tgt("/vn")
    r = edgecache.get(tgt, headers=ae("gzip, br"))
    assert_stored_miss(r)
    # OWS around members and the case of Accept-Encoding do not make a new variant
    for v in ("gzip,br", "gzip ,  br", "  gzip,br  ", "GZIP, Br", "gzip,,br"):
        r = edgecache.get(tgt, headers=ae(v))
        assert_hit(r)
        assert seen_value(r, "accept-encoding") == ["gzip, br"]
    # two field lines combine into one list (RFC 9110 §5.3)
    r = edgecache.get(tgt, headers=[("Accept-Encoding", "gzip"), ("Accept-Encoding", "br")])
    assert_hit(r)
    assert origin_count(origin, "/vn") == 1
    # the order of members is significant: another variant
    r = edgecache.get(tgt, headers=ae("br, gzip"))
    assert_stored_miss(r, "vary-miss")
    assert origin_count(origin, "/vn") == 2


def test_absent_field_is_its_own_variant(shared):
    origin, edgecache = shared
    tgt = ae_tgt("/va")
    assert_stored_miss(edgecache.get(tgt, headers=ae("gzip")))
    r = edgecache.get(tgt)
    assert_stored_miss(r, "vary-miss")
    assert seen_value(r, "accept-encoding") == []
    r = edgecache.get(tgt, headers=ae(""))
    assert_stored_miss(r, "vary-miss")  # an empty value is not an absent field
    assert origin_count(origin, "/va") == 3
    r = edgecache.get(tgt)
    assert_hit(r)
    assert seen_value(r, "accept-encoding") == []
    r = edgecache.get(tgt, headers=ae("gzip"))
    assert_hit(r)
    assert seen_value(r, "accept-encoding") == ["gzip"]
    r = edgecache.get(tgt, headers=ae(""))
    assert_hit(r)
    assert seen_value(r, "accept-encoding") == [""]
    assert origin_count(origin, "/va") == 3


def test_three_variants_of_two_fields(shared):
    origin, edgecache = shared
    tgt = target("/v2", cc="max-age=60", hdr="Vary:Accept-Encoding, Accept-Language", echo=1)
    reqs = [
        [("Accept-Encoding", "gzip"), ("Accept-Language", "en")],
        [("Accept-Encoding", "gzip"), ("Accept-Language", "fr")],
        [("Accept-Encoding", "br"), ("Accept-Language", "en")],
    ]
    for i, h in enumerate(reqs):
        assert_stored_miss(edgecache.get(tgt, headers=h), "uri-miss" if i == 0 else "vary-miss")
    for h in reqs:
        r = edgecache.get(tgt, headers=list(reversed(h)))
        assert_hit(r)
        assert seen_value(r, "accept-encoding") == [h[0][1]]
        assert seen_value(r, "accept-language") == [h[1][1]]
    # a field not listed in Vary does not matter
    r = edgecache.get(tgt, headers=reqs[0] + [("User-Agent", "other")])
    assert_hit(r)
    assert origin_count(origin, "/v2") == 3


def test_vary_on_unlisted_field_case(shared):
    origin, edgecache = shared
    # field names compare case-insensitively; values of a non-Accept field keep their case
    tgt = target("/v3", cc="max-age=60", hdr="Vary:x-flavour", echo=1)
    assert_stored_miss(edgecache.get(tgt, headers=[("X-Flavour", "Mint")]))
    assert_hit(edgecache.get(tgt, headers=[("x-FLAVOUR", "Mint")]))
    assert_stored_miss(edgecache.get(tgt, headers=[("X-Flavour", "mint")]), "vary-miss")
    assert origin_count(origin, "/v3") == 2


def test_vary_star_never_hits(shared):
    origin, edgecache = shared
    tgt = target("/vs", cc="max-age=60", hdr="Vary:*", size=10)
    for _ in range(3):
        r = edgecache.get(tgt, headers=ae("gzip"))
        assert r.status == 200
        assert_not_stored(r, "vary-star")
    assert origin_count(origin, "/vs") == 3
    tgt = target("/vs2", cc="max-age=60", hdr="Vary:Accept-Encoding, *", size=10)
    for _ in range(2):
        r = edgecache.get(tgt, headers=ae("gzip"))
        assert "hit" not in cache_status(r)
    assert origin_count(origin, "/vs2") == 2


def test_variants_revalidate_separately(shared):
    origin, edgecache = shared
    # stale on arrival (Age 10 > max-age 5); the 304s bring max-age=60
    tgt = target("/vr", cc="max-age=5", hdr=["Vary:Accept-Encoding", "Age:10"], etag='"e"', echo=1,
                 **{"hdr@3": "Vary:Accept-Encoding", "cc@3": "max-age=60"})
    for v in ("gzip", "br"):
        r = edgecache.get(tgt, headers=ae(v))
        assert seen_value(r, "accept-encoding") == [v]
    assert origin_count(origin, "/vr") == 2
    for v in ("gzip", "br"):
        r = edgecache.get(tgt, headers=ae(v))
        cs = cache_status(r)
        assert r.status == 200 and cs.get("fwd-status") == 304, (v, cs)
        assert seen_value(r, "accept-encoding") == [v], "revalidating %s served another variant" % v
    assert origin_count(origin, "/vr") == 4
    for v in ("gzip", "br", "gzip"):
        r = edgecache.get(tgt, headers=ae(v))
        assert_hit(r)
        assert seen_value(r, "accept-encoding") == [v]
    assert origin_count(origin, "/vr") == 4
