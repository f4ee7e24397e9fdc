# test_miss_0002_uncacheable — responses nobody may share (issue 5): when the first
# request for a key gets a response that is not storable (no-store, private), the
# requests waiting on it are released at once and go to the origin in parallel, so
# the whole burst takes about one origin exchange after the head, not one per
# request; the predictor (hit-for-miss) then remembers the key, and later requests
# for it go straight to the origin in parallel without waiting on anyone; a later
# storable response for the key clears the mark and is cached.
#
# The origin answers the head after `delay` and the body `body_delay` later, so a
# waiter released at the head still needs one origin exchange of its own. "One origin
# time" is measured, not assumed: each burst through the daemon goes together with as
# many requests straight to the origin (same timing, another path), and the daemon's
# burst is held to that baseline (a loaded 2-core box slows both alike).

from e2elib import pattern_bytes, record_figure, target
from test_cache_0000_support import assert_hit, cache_status, assert_not_stored, assert_stored_miss, origin_count
from test_miss_0000_support import baseline, burst, check_all_ok, shot, wall

N = 80


def test_waiters_released_in_parallel_then_predicted(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size = 1000
    slow = dict(size=size, delay=0.2, body_delay=1.5)  # one exchange: 1.7 s
    slower_head = dict(size=size, delay=1.5, body_delay=0.1)  # one exchange: 1.6 s
    # requests 1..N: `slow`; N+1..2N: `slower_head`; 2N+1 on: storable and quick
    tgt = target("/ns", cc="no-store", **slow, **{
        "delay@%d" % (N + 1): 1.5, "body_delay@%d" % (N + 1): 0.1,
        "cc@%d" % (2 * N + 1): "max-age=60", "delay@%d" % (2 * N + 1): 0,
        "body_delay@%d" % (2 * N + 1): 0})
    # each burst also sends N requests straight to the origin (another path, same timing):
    # "one origin time" is what N parallel exchanges cost here and now
    direct = baseline(origin, "/ns-direct", N, **slow)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)] + direct, timeout=15)
    shots = shots[:N]
    check_all_ok(shots, pattern_bytes(size))
    check_all_ok(direct, pattern_bytes(size))
    first, base1 = wall(shots), wall(direct)
    assert origin_count(origin, "/ns") == N, "every request needs its own exchange"
    for s in shots:
        assert_not_stored(s.response, "no-store")
    # released at the writer's head (0.2 s), each waiter then needs its own exchange:
    # about one origin time in all, at most twice (serialised: N times)
    assert first < 2 * base1, "%d requests for a no-store object took %.2f s; %d straight to " \
        "the origin %.2f s" % (N, first, N, base1)

    # the key is now known uncacheable: nobody waits on a writer (whose head alone takes
    # 1.5 s here); all N run in parallel, as fast as N straight to the origin
    direct = baseline(origin, "/ns-direct2", N, **slower_head)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)] + direct, timeout=15)
    shots = shots[:N]
    check_all_ok(shots, pattern_bytes(size))
    check_all_ok(direct, pattern_bytes(size))
    second, base2 = wall(shots), wall(direct)
    assert origin_count(origin, "/ns") == 2 * N
    for s in shots:
        assert_not_stored(s.response, "no-store")
    record_figure("uncacheable: %d concurrent requests, no-store: %.2f s released at the head "
                  "(%d straight to the origin: %.2f s), %.2f s predicted (straight: %.2f s)"
                  % (N, first, N, base1, second, base2))
    # waiting on a writer would add its 1.5 s head
    assert second < base2 + 0.75, "%d requests for a key marked uncacheable took %.2f s, " \
        "straight to the origin %.2f s: did they wait?" % (N, second, base2)

    # a storable response clears the mark and is cached
    r = ec.get(tgt)
    assert r.status == 200 and r.body == pattern_bytes(size)
    assert_stored_miss(r)
    assert r.header("x-origin-seq") == str(2 * N + 1)
    r = ec.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(size) and r.header("x-origin-seq") == str(2 * N + 1)
    assert origin_count(origin, "/ns") == 2 * N + 1
    # and a burst is now answered from the cache
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(20)])
    check_all_ok(shots, pattern_bytes(size))
    assert origin_count(origin, "/ns") == 2 * N + 1


def test_private_releases_waiters(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    slow = dict(size=500, delay=0.2, body_delay=1.5)
    tgt = target("/priv", cc="private, max-age=60", **slow)
    direct = baseline(origin, "/priv-direct", 50, **slow)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(50)] + direct, timeout=15)
    shots = shots[:50]
    check_all_ok(shots, pattern_bytes(500))
    check_all_ok(direct, pattern_bytes(500))
    took, base = wall(shots), wall(direct)
    assert origin_count(origin, "/priv") == 50
    for s in shots:
        assert_not_stored(s.response, "private")
        assert s.response.header("cache-control") == "private, max-age=60"
    assert took < 2 * base, "50 requests for a private object took %.2f s, straight to the " \
        "origin %.2f s" % (took, base)


def test_mark_clears_and_coalescing_resumes(origin, start_edgecache):
    # after the mark is cleared by a storable response, a burst for the key coalesces
    # again (one origin request for the lot)
    ec = start_edgecache(workers=2)
    # the storable answer is stale on arrival (Age: 5, max-age=1): the burst refetches it
    tgt = target("/flip", size=300, cc="no-store", **{
        "cc@2": "max-age=1", "hdr@2": "Age:5", "delay@3": 0.5})
    r = ec.get(tgt)
    assert_not_stored(r, "no-store")
    r = ec.get(tgt)  # predicted: straight to the origin; storable: clears the mark
    assert_stored_miss(r)
    # a burst: one writer, the rest collapsed
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(30)])
    check_all_ok(shots, pattern_bytes(300))
    assert origin_count(origin, "/flip") == 3, "after the mark cleared, the burst coalesces"
    assert sum(1 for s in shots if cache_status(s.response).get("collapsed")) == 29
