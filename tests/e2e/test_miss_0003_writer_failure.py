# test_miss_0003_writer_failure — a fill that fails (issue 5): when the writer's origin
# exchange fails before a response head (an invalid response, a first-byte timeout),
# the requests waiting on it are not failed with it: one of them becomes the new
# writer, the rest wait on that one, and all are served by a second origin request.
# When the origin cuts the body short after the head was relayed, every client that
# had the head sees a broken response (the announced length never arrives, the
# connection closes), never a complete-looking one; a waiter that needed the whole
# object (a Range) had no head yet and is served by a new fetch, which is stored.

from e2elib import pattern_bytes, record_figure, target
from test_cache_0000_support import assert_hit, cache_status, origin_count
from test_miss_0000_support import burst, check_all_ok, shot, wall

N = 60


def assert_one_new_writer(shots, seq="2"):
    """Every response came from the second origin request; exactly one of them says it
    fetched (no `collapsed`), the others that they waited on it."""
    writers = 0
    for s in shots:
        cs = cache_status(s.response)
        assert s.response.header("x-origin-seq") == seq, s.response
        assert cs.get("fwd") == "uri-miss" and cs.get("stored") is True, cs
        if not cs.get("collapsed"):
            writers += 1
    assert writers == 1, "%d responses claim to be the writer" % writers


def test_invalid_response_elects_a_new_writer(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size = 5000
    # the first origin request answers garbage after 0.5 s; later ones properly
    tgt = target("/garbage", size=size, cc="max-age=60", delay=0.5, garbage=1, **{"garbage@2": 0})
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)], timeout=10)
    check_all_ok(shots, pattern_bytes(size))
    took = wall(shots)
    assert origin_count(origin, "/garbage") == 2, "one failed fetch, one new writer"
    assert_one_new_writer(shots)
    record_figure("writer failure (invalid response at 0.5 s): %d waiters served by a new writer "
                  "in %.2f s" % (N, took))
    assert took < 2.5, took
    assert_hit(ec.get(tgt))
    assert origin_count(origin, "/garbage") == 2


def test_first_byte_timeout_elects_a_new_writer(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.first_byte_timeout=500ms", workers=2)
    size = 3000
    tgt = target("/fbt", size=size, cc="max-age=60", delay=3, **{"delay@2": 0.2})
    shots, _ = burst(ec.port, [shot(tgt) for _ in range(N)], timeout=10)
    check_all_ok(shots, pattern_bytes(size))
    took = wall(shots)
    assert origin_count(origin, "/fbt") == 2
    assert_one_new_writer(shots)
    # 0.5 s timeout, then 0.2 s for the new writer's response
    assert 0.6 < took < 2.0, took
    assert_hit(ec.get(tgt))


def test_truncated_body_breaks_streaming_clients_and_refetches(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    size = 20000
    # head and 10000 bytes after 0.3 s; 0.5 s later 2000 more and the origin closes
    tgt = target("/trunc", size=size, cc="max-age=60", etag='"t1"', delay=0.3, body_delay=0.5,
                 truncate=12000, **{"truncate@2": size, "delay@2": 0, "body_delay@2": 0})
    shots = [shot(tgt) for _ in range(N)]
    ranged = [shot(tgt, headers=[("Range", "bytes=0-9")]) for _ in range(3)]
    conditional = [shot(tgt, headers=[("If-None-Match", '"t1"')]) for _ in range(3)]
    burst(ec.port, shots + ranged + conditional, timeout=10)
    for s in shots:
        # every plain GET streamed from the fill: it had the head, so it is cut
        assert s.response is None and s.error and s.error.startswith("parse:"), \
            "a truncated fill must not look complete: %r" % s
        assert s.eof, "the connection must close after a cut body: %r" % s
        head = bytes(s.buf[: s.head_len]).decode("latin-1").lower()
        assert "content-length: %d\r\n" % size in head, head
        body = s.body_wire()
        assert 0 < len(body) <= 12000 and body == pattern_bytes(len(body)), len(body)
    # those that needed the whole object had no head yet: served by the new writer
    for s in ranged:
        r = s.response
        assert r is not None and r.status == 206 and r.body == pattern_bytes(10), s
        assert r.header("content-range") == "bytes 0-9/%d" % size
        assert r.header("x-origin-seq") == "2"
    for s in conditional:
        r = s.response
        assert r is not None and r.status == 304 and r.header("etag") == '"t1"', s
    assert origin_count(origin, "/trunc") == 2
    r = ec.get(tgt)
    assert_hit(r)
    assert r.body == pattern_bytes(size) and r.header("x-origin-seq") == "2"
    assert origin_count(origin, "/trunc") == 2
