# test_miss_0004_disconnect — clients that go away during a fill (issue 5): when the
# client of the request that started the fetch disconnects, right after sending or in
# the middle of the body, the fetch goes on for the requests waiting on it and for the
# store: they get the whole body and the object is stored (the next request is a hit;
# the origin saw one request). Half of the waiters disconnecting does not hurt the
# other half.

import threading
import time

from e2elib import access_lines, parse_access_line, pattern_bytes, target
from test_cache_0000_support import assert_hit, cache_status, origin_count
from test_miss_0000_support import burst, check_all_ok, shot

SIZE = 100000


def slow_object(path):
    # head and the first half after 0.4 s, the second half 0.5 s later
    return target(path, size=SIZE, cc="max-age=60", delay=0.4, body_delay=0.5)


def check_waiters_and_store(ec, origin, path, tgt, waiters):
    check_all_ok(waiters, pattern_bytes(SIZE))
    for s in waiters:
        cs = cache_status(s.response)
        assert cs.get("collapsed") is True and cs.get("stored") is True, cs
        assert s.response.header("x-origin-seq") == "1"
    r = ec.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(SIZE)
    assert origin_count(origin, path) == 1


def test_writer_client_gone_after_sending(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(workers=2, access_log=log)
    tgt = slow_object("/gone-early")
    with ec.client() as writer:
        writer.request("GET", tgt)
        time.sleep(0.1)  # the fetch has started
    # the writer's client is gone before the origin answers; waiters join the fill
    waiters, _ = burst(ec.port, [shot(tgt) for _ in range(30)], timeout=10)
    check_waiters_and_store(ec, origin, "/gone-early", tgt, waiters)
    lines = [parse_access_line(l) for l in access_lines(log, 32)]
    started = [l for l in lines if l["backend"] != "-"]
    assert len(started) == 1 and started[0]["reason"] == "client-closed", lines
    assert sum(1 for l in lines if l["cache"] == "collapsed" and l["bytes"] == SIZE) == 30, lines


def test_writer_client_gone_mid_body(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = slow_object("/gone-mid")
    with ec.client() as writer:
        writer.request("GET", tgt)
        time.sleep(0.1)
        waiters = [shot(tgt) for _ in range(30)]
        # the waiters connect now; the writer's client leaves with the first half
        got = b""
        deadline = time.monotonic() + 3
        t = threading.Thread(target=burst, args=(ec.port, waiters), kwargs={"timeout": 10})
        t.start()
        while len(got) < SIZE // 4 and time.monotonic() < deadline:
            got += writer.recv_some(0.5)
        assert len(got) >= SIZE // 4, "the writer's client got no body: %r" % got[:300]
    t.join()
    check_waiters_and_store(ec, origin, "/gone-mid", tgt, waiters)


def test_half_the_waiters_disconnect(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = slow_object("/half-gone")
    shots = []
    for i in range(60):
        if i % 4 == 1:
            shots.append(shot(tgt, quit_after="sent"))  # gone while waiting for the head
        elif i % 4 == 3:
            shots.append(shot(tgt, quit_after=1000))  # gone in the middle of the body
        else:
            shots.append(shot(tgt))
    burst(ec.port, shots, timeout=10)
    stayed = [s for s in shots if s.quit_after is None]
    left_mid = [s for s in shots if s.quit_after == 1000]
    assert all(s.quit for s in left_mid), [s for s in left_mid if not s.quit][:3]
    check_all_ok(stayed, pattern_bytes(SIZE))
    for s in stayed:
        assert s.response.header("x-origin-seq") == "1"
        assert s.t_body(SIZE) - s.t_body(SIZE // 2) > 0.3, "streamed as it came: %r" % s.pieces
    r = ec.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(SIZE)
    assert origin_count(origin, "/half-gone") == 1
