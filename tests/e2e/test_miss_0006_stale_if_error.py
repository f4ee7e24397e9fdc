# test_miss_0006_stale_if_error — serving stale on origin failure (RFC 5861 §4, RFC 9111
# §4.2.4, issue 5): a stored response with `stale-if-error` is served stale, within the
# window, when the origin fails (500/502/503/504, a reset, a refused connection, a
# first-byte timeout), with `Cache-Status: edgecache; fwd=stale; ...;
# detail=stale-if-error`; `must-revalidate`, `proxy-revalidate` and `s-maxage` forbid
# it (the failure goes to the client); `cache.grace` extends the same to responses
# without the directive, default 0 (RFC behaviour) and never past those three.
#
# Every stored response here is stale on arrival (Age: 5 with max-age=1), so its
# staleness is about 4 s: inside a 60 s window, outside a 2 s one.

import re

import pytest

from e2elib import Edgecache, Origin, pattern_bytes, target
from test_miss_0000_support import burst, check_all_ok, shot
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    cache_status,
    origin_count,
)

SIZE = 700


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text)


def stale_target(path, cc, **fail):
    """The first origin answer is stored (stale on arrival); `fail` says how the later
    ones go wrong (e.g. {"status@2": 503}). The origin closes each connection after its
    response (ka=0), so a reset is one failed exchange, not a pooled connection found
    closed (which the daemon retries once on a fresh one)."""
    return target(path, size=SIZE, cc=cc, hdr="Age:5", ka=0, **fail)


def assert_stale_served(r, fwd_status=None):
    assert r.status == 200 and r.body == pattern_bytes(SIZE), r
    cs = cache_status(r)
    assert cs.get("fwd") == "stale" and cs.get("detail") == "stale-if-error", cs
    assert "stored" not in cs and "hit" not in cs, cs
    if fwd_status is not None:
        assert cs.get("fwd-status") == fwd_status, cs
    assert r.header("x-origin-seq") == "1", "the stored response, not the failure"
    assert int(r.header("age")) >= 5
    return cs


def store_then_fail(edgecache, tgt):
    r = edgecache.get(tgt)
    assert r.status == 200 and cache_status(r).get("stored") is True, r
    return edgecache.get(tgt)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_origin_error_status_serves_stale(shared, status):
    origin, edgecache = shared
    path = "/sie-%d" % status
    r = store_then_fail(edgecache, stale_target(path, "max-age=1, stale-if-error=60",
                                                **{"status@2": status}))
    assert_stale_served(r, fwd_status=status)
    assert origin_count(origin, path) == 2


def test_origin_reset_serves_stale_again_and_recovery_replaces_it(shared):
    origin, edgecache = shared
    tgt = stale_target("/sie-reset", "max-age=1, stale-if-error=60",
                       **{"reset@2": 1, "reset@4": 0, "shift@4": 3, "cc@4": "max-age=60"})
    r = store_then_fail(edgecache, tgt)
    assert_stale_served(r)
    assert_stale_served(edgecache.get(tgt))  # still failing: still stale
    r = edgecache.get(tgt)  # the origin is back: the new response replaces it
    assert r.status == 200 and r.body == pattern_bytes(SIZE, 3) and r.header("x-origin-seq") == "4"
    assert cache_status(r).get("stored") is True
    assert origin_count(origin, "/sie-reset") == 4


def test_a_404_is_not_an_error(shared):
    origin, edgecache = shared
    r = store_then_fail(edgecache, stale_target("/sie-404", "max-age=1, stale-if-error=60",
                                                **{"status@2": 404}))
    assert r.status == 404 and r.header("x-origin-seq") == "2", r


@pytest.mark.parametrize("cc", [
    "max-age=1, stale-if-error=60, must-revalidate",
    "max-age=1, stale-if-error=60, proxy-revalidate",
    "s-maxage=1, stale-if-error=60",
])
@pytest.mark.parametrize("fail,status", [({"status@2": 503}, 503), ({"reset@2": 1}, 502)])
def test_revalidation_directives_forbid_stale(shared, cc, fail, status):
    origin, edgecache = shared
    path = "/sie-forbid-%d-%s" % (status, slug(cc))
    r = store_then_fail(edgecache, stale_target(path, cc, **fail))
    assert r.status == status, "%s must not be served stale: %r" % (cc, r)
    if status == 503:
        assert r.header("x-origin-seq") == "2", r
    cs = cache_status(r)
    assert cs.get("detail") != "stale-if-error", cs
    assert origin_count(origin, path) == 2


def test_outside_the_window_the_error_goes_through(shared):
    origin, edgecache = shared
    r = store_then_fail(edgecache, stale_target("/sie-window", "max-age=1, stale-if-error=2",
                                                **{"status@2": 503}))
    assert r.status == 503 and r.header("x-origin-seq") == "2", r


def test_no_directive_no_grace_the_error_goes_through(shared):
    origin, edgecache = shared
    r = store_then_fail(edgecache, stale_target("/sie-none", "max-age=1", **{"status@2": 503}))
    assert r.status == 503 and r.header("x-origin-seq") == "2", r


def test_origin_down_connection_refused(origin, start_edgecache):
    ec = start_edgecache()
    ok = stale_target("/down-ok", "max-age=1, stale-if-error=60")
    forbidden = stale_target("/down-mr", "max-age=1, stale-if-error=60, must-revalidate")
    for tgt in (ok, forbidden):
        r = ec.get(tgt)
        assert r.status == 200 and cache_status(r).get("stored") is True, r
    origin.stop()  # nothing listens on the origin's port any more
    assert_stale_served(ec.get(ok))
    r = ec.get(forbidden)
    assert r.status == 502, "must-revalidate forbids stale when the origin is down: %r" % r
    assert cache_status(r).get("detail") != "stale-if-error"


def test_first_byte_timeout_serves_stale(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.first_byte_timeout=300ms")
    r = store_then_fail(ec, stale_target("/sie-slow", "max-age=1, stale-if-error=60",
                                         **{"delay@2": 2}))
    assert_stale_served(r, fwd_status=504)


@pytest.fixture(scope="module")
def grace_daemon(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("grace")
    o = Origin(workdir / "origin")
    ec = None
    try:
        ec = Edgecache(["-l", "127.0.0.1:0", "-o", o.base_url, "-w", "1", "--admin", "off",
                        "-p", "cache.grace=60"], workdir / "edgecache")
        yield o, ec
    finally:
        problems = ec.problems() if ec is not None else []
        o.stop()
    assert not problems, problems


def test_grace_serves_stale_without_the_directive(grace_daemon):
    origin, ec = grace_daemon
    r = store_then_fail(ec, stale_target("/g-503", "max-age=1", **{"status@2": 503}))
    assert_stale_served(r, fwd_status=503)
    r = store_then_fail(ec, stale_target("/g-reset", "max-age=1", **{"reset@2": 1}))
    assert_stale_served(r)


@pytest.mark.parametrize("cc", ["max-age=1, must-revalidate", "max-age=1, proxy-revalidate",
                                "s-maxage=1"])
def test_grace_never_overrides_revalidation_directives(grace_daemon, cc):
    origin, ec = grace_daemon
    path = "/g-forbid-" + slug(cc)
    r = store_then_fail(ec, stale_target(path, cc, **{"status@2": 503}))
    assert r.status == 503 and r.header("x-origin-seq") == "2", "%s with grace: %r" % (cc, r)


def test_grace_window_is_bounded(grace_daemon):
    origin, ec = grace_daemon
    # 99 s stale: past the 60 s grace
    tgt = target("/g-old", size=SIZE, cc="max-age=1", hdr="Age:100", ka=0, **{"status@2": 503})
    r = store_then_fail(ec, tgt)
    assert r.status == 503 and r.header("x-origin-seq") == "2", r


def test_coalesced_requests_all_get_stale_from_one_failed_fetch(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = stale_target("/sie-burst", "max-age=1, stale-if-error=60",
                       **{"status@2": 503, "delay@2": 0.5})
    r = ec.get(tgt)
    assert cache_status(r).get("stored") is True
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(40)], timeout=10)
    check_all_ok(shots, pattern_bytes(SIZE))
    for s in shots:
        assert_stale_served(s.response, fwd_status=503)
    assert origin_count(origin, "/sie-burst") == 2, "one revalidation for the lot"
