# test_proxy_0011_timeouts — client-side timeouts: a head that does not complete
# within limits.header_timeout gets 408 and a close (however slowly it trickles
# in); a keep-alive connection idle for limits.idle_timeout is closed without a
# response; activity within the timeouts is not cut.

import time

from e2elib import assert_daemon_error, target


def test_half_head_gets_408(origin, start_edgecache):
    ec = start_edgecache("-p", "limits.header_timeout=1s")
    with ec.client(timeout=10) as c:
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Half: ")
        r = c.read_final(timeout=6)
        took = time.monotonic() - t0
        assert_daemon_error(r, 408, closes=True)
        assert 0.8 <= took < 3.5, "408 after %.2fs with limits.header_timeout=1s" % took
        assert c.closed(3)
    assert origin.stats()["requests"] == 0


def test_trickled_head_gets_408(origin, start_edgecache):
    # the timeout bounds the whole head, not the gap between reads
    ec = start_edgecache("-p", "limits.header_timeout=1s")
    head = b"GET / HTTP/1.1\r\nHost: example.test\r\n" + b"X-Slow: abcdefghijklmnopqrstuvwxyz\r\n" * 4 + b"\r\n"
    with ec.client(timeout=10) as c:
        t0 = time.monotonic()
        sent = 0
        try:
            while sent < len(head) and time.monotonic() - t0 < 6:
                c.send(head[sent : sent + 1])
                sent += 1
                if c.poll(0.05):
                    break  # the daemon answered or closed: stop sending
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < len(head), "the trickled head was never cut off"
        r = c.read_final(timeout=3)
        took = time.monotonic() - t0
        assert_daemon_error(r, 408, closes=True)
        assert took < 3.5, "408 after %.2fs" % took
    assert origin.stats()["requests"] == 0


def test_second_request_head_timeout(origin, start_edgecache):
    ec = start_edgecache("-p", "limits.header_timeout=1s")
    with ec.client(timeout=10) as c:
        c.request("GET", "/first")
        assert c.read_final().status == 200
        c.send(b"GET /second HTTP/1.1\r\nHost: exa")
        r = c.read_final(timeout=6)
        assert_daemon_error(r, 408, closes=True)
        assert c.closed(3)
    assert origin.stats()["paths"] == {"/first": 1}


def test_idle_keepalive_closed(origin, start_edgecache):
    ec = start_edgecache("-p", "limits.idle_timeout=1s")
    with ec.client(timeout=10) as c:
        c.request("GET", "/a")
        assert c.read_final().status == 200
        t0 = time.monotonic()
        assert c.closed(5), "idle connection not closed"
        took = time.monotonic() - t0
        assert 0.8 <= took < 3.5, "idle close after %.2fs with limits.idle_timeout=1s" % took
        assert c.buf == b"", "an idle close sends nothing: %r" % bytes(c.buf)


def test_idle_fresh_connection_closed(origin, start_edgecache):
    ec = start_edgecache("-p", "limits.idle_timeout=1s", "-p", "limits.header_timeout=1s")
    with ec.client(timeout=10) as c:
        t0 = time.monotonic()
        data = c.recv_some(5)
        assert c.eof, "a connection that never sends anything must be closed"
        assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data
        assert time.monotonic() - t0 < 3.5


def test_activity_keeps_connection(origin, start_edgecache):
    ec = start_edgecache("-p", "limits.idle_timeout=1s")
    with ec.client(timeout=10) as c:
        for i in range(5):
            time.sleep(0.5)
            c.request("GET", "/k%d" % i)
            assert c.read_final().status == 200


def test_long_response_not_cut_by_idle_timeout(origin, start_edgecache):
    # a slow origin is the origin timeouts' business, not the client idle timeout's
    ec = start_edgecache("-p", "limits.idle_timeout=1s")
    with ec.client(timeout=10) as c:
        c.request("GET", target("/slow", delay=1.5, size=10))
        r = c.read_final()
        assert r.status == 200 and len(r.body) == 10
