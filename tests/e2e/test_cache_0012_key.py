# test_cache_0012_key — what makes two requests one cache entry (RFC 9111 §2, the
# primary key; plus edgecache's cache.key_* options): by default scheme, host
# (case-insensitive, without the default port) and the whole target including the
# query in its order; cache.key_query=sort makes the parameter order irrelevant,
# cache.key_query=ignore drops the query, cache.key_ignore_params drops named
# parameters.

from e2elib import target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    origin_count,
)


def get(ec, tgt, host="example.test"):
    with ec.client() as c:
        c.request("GET", tgt, host=host)
        return c.read_final()


def test_default_key_keeps_query_order(shared):
    origin, edgecache = shared
    assert_stored_miss(get(edgecache, "/k1?cc=max-age=60&a=1&b=2"))
    assert_stored_miss(get(edgecache, "/k1?cc=max-age=60&b=2&a=1"))
    assert_hit(get(edgecache, "/k1?cc=max-age=60&a=1&b=2"))
    assert_stored_miss(get(edgecache, "/k1?cc=max-age=60&a=1&b=3"))
    assert origin_count(origin, "/k1") == 3


def test_host_is_part_of_the_key(shared):
    origin, edgecache = shared
    tgt = target("/kh", cc="max-age=60", echo=1)
    ra = get(edgecache, tgt, "a.test")
    assert_stored_miss(ra)
    rb = get(edgecache, tgt, "b.test")
    assert_stored_miss(rb)
    assert origin_count(origin, "/kh") == 2
    for host, first in (("a.test", ra), ("A.Test", ra), ("a.test:80", ra), ("b.test", rb)):
        r = get(edgecache, tgt, host)
        assert_hit(r)
        assert r.body == first.body, "%s got another host's response" % host
    assert_stored_miss(get(edgecache, tgt, "a.test:8080"))
    assert origin_count(origin, "/kh") == 3


def test_absolute_form_and_host_header_are_one_key(shared):
    origin, edgecache = shared
    tgt = target("/kabs", cc="max-age=60", size=5)
    assert_stored_miss(get(edgecache, tgt, "abs.test"))
    with edgecache.client() as c:
        c.request("GET", "http://abs.test" + tgt, host="abs.test")
        assert_hit(c.read_final())
    assert origin_count(origin, "/kabs") == 1


def test_key_query_sort(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.key_query=sort")
    assert_stored_miss(get(ec, "/ks?cc=max-age=60&a=1&b=2"))
    for q in ("b=2&a=1&cc=max-age=60", "a=1&cc=max-age=60&b=2", "cc=max-age=60&b=2&a=1"):
        assert_hit(get(ec, "/ks?" + q))
    assert_stored_miss(get(ec, "/ks?cc=max-age=60&a=2&b=1"))
    assert origin_count(origin, "/ks") == 2


def test_key_query_ignore(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.key_query=ignore")
    r1 = get(ec, "/ki?cc=max-age=60&x=1&size=10")
    assert_stored_miss(r1)
    for q in ("?cc=max-age=60&x=2&size=10", "?anything", ""):
        r = get(ec, "/ki" + q)
        assert_hit(r)
        assert r.body == r1.body
    assert_stored_miss(get(ec, "/ki2?cc=max-age=60"))
    assert origin_count(origin, "/ki") == 1


def test_key_ignore_params(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.key_ignore_params=utm_source,utm_medium")
    assert_stored_miss(get(ec, "/kp?cc=max-age=60&utm_source=a"))
    for q in ("cc=max-age=60&utm_source=b", "cc=max-age=60", "utm_medium=x&cc=max-age=60&utm_source=c"):
        assert_hit(get(ec, "/kp?" + q))
    # other parameters (and a parameter that merely starts with the name) still count
    assert_stored_miss(get(ec, "/kp?cc=max-age=60&utm_sourcex=1"))
    assert_stored_miss(get(ec, "/kp?cc=max-age=60&id=7"))
    assert origin_count(origin, "/kp") == 3
