# test_miss_0005_swr — stale-while-revalidate (RFC 5861 §3, issue 5): once a response
# with `stale-while-revalidate` has expired, requests within the window are answered
# at once from the stale copy (`Cache-Status: edgecache; fwd=stale; ...; detail=swr`)
# while one background request revalidates it, however many requests arrive and on
# whichever worker; when that request completes, the new version is served as a hit.
# Outside the window the stale copy is not used without the origin.

import time

from e2elib import pattern_bytes, record_figure, target, wait_for
from test_cache_0000_support import assert_hit, cache_status, origin_count
from test_miss_0000_support import burst, check_all_ok, shot, wall

N = 100


def refreshed(ec, tgt):
    """The response if it is no longer the stale copy, else None."""
    r = ec.get(tgt)
    if cache_status(r).get("detail") == "swr":
        assert r.header("x-origin-seq") == "1", r
        return None
    return r


def test_burst_gets_stale_at_once_and_one_background_refresh(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size = 4000
    # version 1: max-age=1 with swr=30; version 2 (the refresh) takes 1 s and is fresh
    tgt = target("/swr", size=size, cc="max-age=1, stale-while-revalidate=30", **{
        "delay@2": 1, "shift@2": 1, "cc@2": "max-age=60", "hdr@2": "X-Version:2"})
    r = ec.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(size)
    assert cache_status(r).get("stored") is True, r
    assert_hit(ec.get(tgt))
    time.sleep(1.2)  # expired
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)], timeout=10)
    check_all_ok(shots, pattern_bytes(size))
    took = wall(shots)
    for s in shots:
        cs = cache_status(s.response)
        assert cs.get("fwd") == "stale" and cs.get("detail") == "swr", s.response.header_all(
            "cache-status")
        assert "hit" not in cs and "stored" not in cs, cs
        assert s.response.header("x-origin-seq") == "1" and s.response.header("x-version") is None
        assert int(s.response.header("age")) >= 1
    record_figure("stale-while-revalidate: %d requests answered in %.3f s (refresh takes 1 s)"
                  % (N, took))
    # answered from the cache, not after the 1 s refresh
    assert took < 0.6, "%d stale-while-revalidate answers took %.2f s" % (N, took)
    assert origin_count(origin, "/swr") == 2, "exactly one background request"
    # the refresh completes (about 1 s after the burst; until then the stale copy is
    # served): the new version is a hit, with no more origin requests
    r = wait_for(lambda: refreshed(ec, tgt), 5, "the background refresh")
    assert_hit(r)
    assert r.body == pattern_bytes(size, 1) and r.header("x-version") == "2"
    assert r.header("x-origin-seq") == "2"
    assert origin_count(origin, "/swr") == 2


def test_requests_during_the_refresh_still_get_stale(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = target("/swr2", size=100, cc="max-age=1, stale-while-revalidate=30", hdr="Age:3", **{
        "delay@2": 1, "shift@2": 2, "cc@2": "max-age=60"})
    ec.get(tgt)
    seen = []
    for _ in range(5):  # over 0.5 s while the refresh runs
        shots, _ = burst(ec.port, [shot(tgt) for _ in range(10)])
        check_all_ok(shots, pattern_bytes(100))
        seen += [cache_status(s.response).get("detail") for s in shots]
        time.sleep(0.1)
    assert seen == ["swr"] * 50, seen
    assert origin_count(origin, "/swr2") == 2
    r = wait_for(lambda: refreshed(ec, tgt), 5, "the background refresh")
    assert_hit(r)
    assert r.body == pattern_bytes(100, 2)


def test_outside_the_window_goes_to_the_origin(origin, start_edgecache):
    ec = start_edgecache()
    # 10 s stale, the window is 5 s: a plain revalidation, the client waits for it
    tgt = target("/swr3", size=100, cc="max-age=1, stale-while-revalidate=5", hdr="Age:11", **{
        "delay@2": 0.3, "shift@2": 1, "cc@2": "max-age=60", "hdr@2": "X-V:2"})
    ec.get(tgt)
    t0 = time.monotonic()
    r = ec.get(tgt)
    assert time.monotonic() - t0 >= 0.3
    assert r.status == 200 and r.body == pattern_bytes(100, 1)
    cs = cache_status(r)
    assert cs.get("fwd") == "stale" and cs.get("detail") != "swr" and cs.get("stored") is True, cs
    assert origin_count(origin, "/swr3") == 2
