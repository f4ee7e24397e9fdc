# test_miss_0001_coalesce — request coalescing with read-while-write (issue 5): 200
# concurrent cold requests for a slow object, spread over two worker threads, cause
# exactly one origin request; the one that started the fetch says
# `fwd=uri-miss; stored`, every other one `collapsed`; all 200 get the right bytes in
# about one origin time; and the body streams to the waiters as it arrives from the
# origin (a waiter has the head and the first half while the origin still holds back
# the second), a late joiner starting from the first byte.

from e2elib import pattern_bytes, record_figure, target
from test_cache_0000_support import cache_status, origin_count
from test_miss_0000_support import burst, check_all_ok, shot, wall

N = 200


def writer_and_waiters(shots):
    """Splits the responses by Cache-Status into (writers, collapsed); asserts every one
    is a stored uri-miss and that there is nothing else."""
    writers, collapsed, other = [], [], []
    for s in shots:
        cs = cache_status(s.response)
        if cs.get("fwd") != "uri-miss" or cs.get("stored") is not True or "hit" in cs:
            other.append((s, cs))
        elif cs.get("collapsed") is True:
            collapsed.append(s)
        else:
            writers.append(s)
    assert not other, "%d responses are neither the writer nor collapsed: %r" % (
        len(other), [cs for _, cs in other[:5]])
    return writers, collapsed


def test_200_cold_requests_one_origin_request(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size = 30000
    tgt = target("/cold", size=size, cc="max-age=60", delay=1)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)], timeout=15)
    check_all_ok(shots, pattern_bytes(size))
    took = wall(shots)
    record_figure("coalescing: %d concurrent cold requests, 1 s origin, -w 2: all done in %.2f s "
                  "(first done %.2f s)" % (N, took, min(s.t_done for s in shots)))
    assert origin_count(origin, "/cold") == 1, "the origin must see exactly one request"
    writers, collapsed = writer_and_waiters(shots)
    assert len(writers) == 1 and len(collapsed) == N - 1, (len(writers), len(collapsed))
    for s in shots:
        assert s.response.header("content-length") == str(size), s.response
        assert s.response.header("x-origin-seq") == "1", s.response
    # the issue asks for under 1.5 s; a loaded 2-core box gets some slack, not an order
    assert took < 2.5, "%d coalesced requests took %.2f s for a 1 s origin" % (N, took)
    # and the object is stored: the next request is a hit
    r = ec.get(tgt)
    assert cache_status(r).get("hit") is True and r.body == pattern_bytes(size)
    assert origin_count(origin, "/cold") == 1


def test_waiters_stream_the_body_as_it_arrives(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size, half = 60000, 30000
    # head and first half at ~0.5 s, the second half 0.8 s later
    tgt = target("/stream", size=size, cc="max-age=60", delay=0.5, body_delay=0.8)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)], timeout=15)
    check_all_ok(shots, pattern_bytes(size))
    assert origin_count(origin, "/stream") == 1
    writers, collapsed = writer_and_waiters(shots)
    assert len(writers) == 1 and len(collapsed) == N - 1, (len(writers), len(collapsed))
    took = wall(shots)
    # the second half reached no client before this: the origin had not sent it yet
    rest_first = min(s.t_body(size) for s in shots)
    late = []
    for s in collapsed:
        t_half, t_all = s.t_body(half), s.t_body(size)
        assert s.t_head is not None and t_half is not None and t_all is not None, s
        # the head and the first half reached this waiter while the origin still slept
        # between the halves (0.8 s): relayed as it came, not when the object was complete
        if not (t_half < rest_first and t_all - t_half >= 0.4):
            late.append((round(s.t_head, 3), round(t_half, 3), round(t_all, 3)))
    first_half = sorted(s.t_body(half) for s in collapsed)
    record_figure("read-while-write: %d requests, head + first half at %.2f..%.2f s (median %.2f), "
                  "second half first seen %.2f s, all done %.2f s (origin: head at 0.5 s, rest at "
                  "1.3 s)" % (N, first_half[0], first_half[-1], first_half[len(first_half) // 2],
                              rest_first, took))
    assert not late, "%d waiters got the first half only with the rest (head, half, all): %r" % (
        len(late), late[:10])
    assert took < 2.5, took


def test_late_joiner_starts_from_the_first_byte(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size, half = 40000, 20000
    tgt = target("/late", size=size, cc="max-age=60", delay=0.3, body_delay=1)
    with ec.client(timeout=5) as first:
        first.request("GET", tgt)
        # the writer's client has the head and the first half: the fill is mid-body
        got = bytearray()
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < half:
            more = first.recv_some(2)
            assert more, "no first half from the writer: %r" % bytes(got[:300])
            got += more
        # joiners on new connections (some land on the other worker)
        joiners, _ = burst(ec.port, [shot(tgt) for _ in range(20)], timeout=5)
        first.buf[:0] = got
        r = first.read_final()
    assert r.status == 200 and r.body == pattern_bytes(size)
    check_all_ok(joiners, pattern_bytes(size))
    for s in joiners:
        cs = cache_status(s.response)
        assert cs.get("collapsed") is True and cs.get("stored") is True, cs
        # they joined after the first half was in: they get it at once, the rest later
        assert s.t_body(half) is not None and s.t_body(size) - s.t_body(half) > 0.3, s.pieces
    assert origin_count(origin, "/late") == 1


def test_waiters_stream_a_chunked_body(origin, start_edgecache):
    # the same with an origin that sends no length (chunked): waiters must not wait for
    # the whole object before they get the head and the first bytes
    ec = start_edgecache(workers=2)
    size, half = 60000, 30000
    tgt = target("/chunked", size=size, chunked=1, cc="max-age=60", delay=0.3, body_delay=0.8)
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(50)], timeout=10)
    check_all_ok(shots, pattern_bytes(size))
    assert origin_count(origin, "/chunked") == 1
    writers, collapsed = writer_and_waiters(shots)
    assert len(writers) == 1 and len(collapsed) == 49, (len(writers), len(collapsed))
    rest_first = min(s.t_body(size) for s in shots)
    late = [(round(s.t_head, 3), round(s.t_done, 3)) for s in collapsed
            if not (s.t_body(half) is not None and s.t_body(half) < rest_first)]
    assert not late, "%d of 49 waiters got the head and first half of a chunked body only " \
        "after the origin sent the rest at ~%.2f s (head, done): %r" % (
            len(late), rest_first, late[:5])
