# test_cache_0007_invalidation — unsafe methods invalidate (RFC 9111 §4.4): a
# non-error (2xx/3xx) response to POST, PUT, DELETE or an unknown method
# invalidates the stored responses for the target URI (every variant), and for
# the URIs in Location and Content-Location when they are same-origin (resolved
# against the target, RFC 3986 §5.2); an error response invalidates nothing, and
# a cross-origin Location is left alone.

import pytest

from e2elib import target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    cache_status,
    origin_count,
)


def get(ec, tgt, host="example.test", headers=None):
    with ec.client() as c:
        c.request("GET", tgt, headers=headers, host=host)
        return c.read_final()


def store(ec, tgt, host="example.test"):
    """GETs tgt twice: stored by the first, a hit the second time."""
    assert_stored_miss(get(ec, tgt, host))
    assert_hit(get(ec, tgt, host))


def unsafe(ec, method, tgt, host="example.test"):
    with ec.client() as c:
        c.request(method, tgt, body=b"payload", host=host)
        return c.read_final(method=method)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "FROBNICATE"])
def test_unsafe_method_invalidates_target(shared, method):
    origin, edgecache = shared
    path = "/i-" + method.lower()
    tgt = target(path, cc="max-age=60", size=10)
    store(edgecache, tgt)
    r = unsafe(edgecache, method, tgt)
    assert r.status == 200, r
    assert origin_count(origin, path) == 2
    r = edgecache.get(tgt)
    assert_stored_miss(r)
    assert r.header("x-origin-seq") == "3", "the GET after %s goes to the origin" % method
    assert_hit(edgecache.get(tgt))
    assert origin_count(origin, path) == 3


def test_redirect_invalidates(shared):
    origin, edgecache = shared
    tgt = target("/i303", cc="max-age=60", size=10, **{"status@2": 303, "status@3": 200})
    store(edgecache, tgt)
    assert unsafe(edgecache, "POST", tgt).status == 303
    assert_stored_miss(edgecache.get(tgt))
    assert origin_count(origin, "/i303") == 3


@pytest.mark.parametrize("status", [404, 500, 503])
def test_error_response_does_not_invalidate(shared, status):
    origin, edgecache = shared
    path = "/ierr%d" % status
    tgt = target(path, cc="max-age=60", size=10, **{"status@2": status, "status@3": 200})
    store(edgecache, tgt)
    r = unsafe(edgecache, "POST", tgt)
    assert r.status == status
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.header("x-origin-seq") == "1"
    assert origin_count(origin, path) == 2


def test_every_variant_is_invalidated(shared):
    origin, edgecache = shared
    tgt = target("/ivary", cc="max-age=60", hdr="Vary:Accept-Encoding", size=10)
    for v in ("gzip", "br"):
        edgecache.get(tgt, headers=[("Accept-Encoding", v)])
        assert_hit(edgecache.get(tgt, headers=[("Accept-Encoding", v)]))
    assert unsafe(edgecache, "POST", tgt).status == 200
    for v in ("gzip", "br"):
        r = edgecache.get(tgt, headers=[("Accept-Encoding", v)])
        assert "hit" not in cache_status(r), "variant %s survived the POST" % v
    assert origin_count(origin, "/ivary") == 5


@pytest.mark.parametrize(
    "field,ref,other",
    [
        ("Location", "/loc/b1?cc=max-age=60", "/loc/b1"),
        ("Content-Location", "/loc/b2?cc=max-age=60", "/loc/b2"),
        ("Location", "b3?cc=max-age=60", "/loc/b3"),  # relative to /loc/post
        ("Location", "../loc/./b4?cc=max-age=60", "/loc/b4"),
        ("Location", "http://example.test/loc/b5?cc=max-age=60", "/loc/b5"),
        ("Content-Location", "HTTP://EXAMPLE.TEST:80/loc/b6?cc=max-age=60", "/loc/b6"),
    ],
    ids=["location", "content-location", "relative", "dot-segments", "absolute", "absolute-default-port"],
)
def test_location_same_origin_invalidates(shared, field, ref, other):
    origin, edgecache = shared
    other_tgt = target(other, cc="max-age=60")
    keep_tgt = target(other + "-keep", cc="max-age=60")
    store(edgecache, other_tgt)
    store(edgecache, keep_tgt)
    post = target("/loc/post", hdr="%s:%s" % (field, ref))
    r = unsafe(edgecache, "POST", post)
    assert r.status == 200 and r.header(field) == ref
    r = edgecache.get(other_tgt)
    assert "hit" not in cache_status(r), "%s: %s did not invalidate %s" % (field, ref, other_tgt)
    assert origin_count(origin, other) == 2
    assert_hit(edgecache.get(keep_tgt))


def test_location_of_an_error_response_is_left_alone(shared):
    origin, edgecache = shared
    other_tgt = target("/loc/e1", cc="max-age=60")
    store(edgecache, other_tgt)
    post = target("/loc/epost", status=500, hdr="Location:" + other_tgt)
    assert unsafe(edgecache, "POST", post).status == 500
    assert_hit(edgecache.get(other_tgt))
    assert origin_count(origin, "/loc/e1") == 1


def test_cross_origin_location_is_left_alone(shared):
    origin, edgecache = shared
    other_tgt = target("/loc/x1", cc="max-age=60")
    store(edgecache, other_tgt, host="other.test")
    store(edgecache, other_tgt)
    post = target("/loc/xpost", hdr=["Location:http://other.test" + other_tgt,
                                     "Content-Location:https://example.test" + other_tgt])
    assert unsafe(edgecache, "POST", post).status == 200
    assert_hit(get(edgecache, other_tgt, "other.test"))
    assert_hit(edgecache.get(other_tgt))
    assert origin_count(origin, "/loc/x1") == 2
