# test_miss_0007_timeouts — the two bounds on coalescing (issue 5):
#   cache.wait_timeout: a request waits on another request's fetch at most this long
#     for a response head, then goes to the origin itself;
#   cache.lock_timeout: a fetch that has held its key this long without a head no
#     longer gathers waiters: a request arriving later starts a fetch of its own.
# In both, the origin's first answer is slow (3 s, 2 s) and later ones are quick.

import time

from e2elib import pattern_bytes, record_figure, target
from test_cache_0000_support import cache_status, origin_count
from test_miss_0000_support import burst, check_all_ok, shot

SIZE = 2000


def slow_first(path, delay=3):
    return target(path, size=SIZE, cc="max-age=60", delay=delay, **{"delay@2": 0})


def test_wait_timeout_sends_waiters_to_the_origin(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.wait_timeout=500ms", workers=2)
    tgt = slow_first("/wait")
    with ec.client(timeout=10) as writer:
        writer.request("GET", tgt)
        time.sleep(0.1)  # the writer's fetch runs
        waiters, _ = burst(ec.port, [shot(tgt) for _ in range(20)], timeout=5)
        check_all_ok(waiters, pattern_bytes(SIZE))
        done = sorted(s.t_done for s in waiters)
        record_figure("cache.wait_timeout=500ms: 20 waiters done after %.2f..%.2f s" % (
            done[0], done[-1]))
        for s in waiters:
            # they gave up at 0.5 s and fetched (quickly) themselves
            assert 0.45 <= s.t_done < 1.5, s
            assert s.response.header("x-origin-seq") != "1", s.response
        # each one on its own: the writer's request and the 20
        assert origin_count(origin, "/wait") == 21
        # the writer is not hurt: it gets its (slow) response
        r = writer.read_final()
    assert r.status == 200 and r.body == pattern_bytes(SIZE) and r.header("x-origin-seq") == "1"
    assert cache_status(r).get("stored") is True


def test_lock_timeout_stops_new_requests_waiting_on_an_old_writer(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.lock_timeout=500ms", workers=2)
    tgt = slow_first("/lock", delay=2)
    with ec.client(timeout=10) as writer:
        writer.request("GET", tgt)
        time.sleep(0.7)  # the writer has held the key over the lock timeout
        t0 = time.monotonic()
        late, _ = burst(ec.port, [shot(tgt) for _ in range(10)], timeout=5)
        took = time.monotonic() - t0
        check_all_ok(late, pattern_bytes(SIZE))
        # one new fetch for the late ones (they coalesce on it), not a wait of 1.3 s more
        assert took < 1.0, "requests after the lock timeout waited on the old writer (%.2f s)" % took
        assert origin_count(origin, "/lock") == 2
        for s in late:
            assert s.response.header("x-origin-seq") == "2", s.response
        r = writer.read_final()
    assert r.status == 200 and r.body == pattern_bytes(SIZE) and r.header("x-origin-seq") == "1"


def test_within_the_lock_timeout_requests_wait(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.lock_timeout=2s", workers=2)
    tgt = target("/nolock", size=SIZE, cc="max-age=60", delay=1, **{"delay@2": 0})
    with ec.client(timeout=10) as writer:
        writer.request("GET", tgt)
        time.sleep(0.3)
        shots, _ = burst(ec.port, [shot(tgt) for _ in range(10)], timeout=5)
        r = writer.read_final()
    check_all_ok(shots, pattern_bytes(SIZE))
    assert r.status == 200 and r.body == pattern_bytes(SIZE)
    for s in shots:
        assert s.response.header("x-origin-seq") == "1", s.response
        assert cache_status(s.response).get("collapsed") is True
    assert origin_count(origin, "/nolock") == 1
