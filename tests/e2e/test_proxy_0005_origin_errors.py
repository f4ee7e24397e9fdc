# test_proxy_0005_origin_errors — when the origin fails, the daemon answers itself:
# 502 for a refused or timed-out connect, a reset, or a response that is not
# HTTP; 504 when no response head arrives within origin.first_byte_timeout.
# The error is a short text/plain body; the client connection stays usable or
# is closed with Connection: close.

import socket
import time

from e2elib import assert_daemon_error, closed_port, pattern_bytes, target


def check_error_then_usable(ec, c, resp, status):
    """The daemon's own error; then either it closed (and said so) or the connection works."""
    assert_daemon_error(resp, status, closes=False)
    if "close" in resp.tokens("connection"):
        assert c.closed(3), "Connection: close announced but the connection stayed open"
    else:
        c.request("GET", "/again")
        r = c.read_final()
        assert r.status in (200, 502, 504), r


def test_connect_refused_is_502(start_edgecache):
    ec = start_edgecache(origin_url="http://127.0.0.1:%d" % closed_port())
    with ec.client() as c:
        c.request("GET", "/x")
        r = c.read_final()
        check_error_then_usable(ec, c, r, 502)


def test_connect_timeout_is_504(start_edgecache):
    # A connect that times out is a gateway timeout (as nginx answers it);
    # a refused one is a 502.
    # A listener whose accept queue is full drops SYNs: the connect hangs.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    port = blackhole.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        try:
            probe.connect(("127.0.0.1", port))
            raise AssertionError("precondition: a full accept queue should make connect hang")
        except socket.timeout:
            pass
        ec = start_edgecache("-p", "origin.connect_timeout=500ms", origin_url="http://127.0.0.1:%d" % port)
        with ec.client(timeout=10) as c:
            t0 = time.monotonic()
            c.request("GET", "/x")
            r = c.read_final()
            took = time.monotonic() - t0
            assert_daemon_error(r, 504, closes=False)
            assert 0.4 <= took < 2.5, "connect timeout of 500ms took %.2fs" % took
    finally:
        probe.close()
        filler.close()
        blackhole.close()


def test_garbage_response_is_502(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", target("/g", garbage=1))
        r = c.read_final()
        check_error_then_usable(edgecache, c, r, 502)
    assert origin.stats()["requests"] >= 1


def test_reset_is_502(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", target("/r", reset=1))
        r = c.read_final()
        check_error_then_usable(edgecache, c, r, 502)


def test_first_byte_timeout_is_504(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.first_byte_timeout=500ms")
    with ec.client(timeout=10) as c:
        t0 = time.monotonic()
        c.request("GET", target("/slow", delay=3))
        r = c.read_final()
        took = time.monotonic() - t0
        assert_daemon_error(r, 504, closes=False)
        assert 0.4 <= took < 2.5, "first-byte timeout of 500ms took %.2fs" % took
        check_error_then_usable(ec, c, r, 504)


def test_slow_origin_within_timeout_is_fine(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.first_byte_timeout=2s")
    r = ec.get(target("/slow", delay=0.5, size=10))
    assert r.status == 200 and r.body == pattern_bytes(10)


def test_origin_error_status_is_not_the_daemons(origin, edgecache):
    # a 502 from the origin itself passes through with the origin's body
    r = edgecache.get(target("/e", status=502, size=20))
    assert r.status == 502 and r.body == pattern_bytes(20)


def test_daemon_recovers_after_origin_errors(origin, edgecache):
    for q in (dict(reset=1), dict(garbage=1), dict(reset=1)):
        edgecache.get(target("/bad", **q))
    r = edgecache.get(target("/good", size=99))
    assert r.status == 200 and r.body == pattern_bytes(99)


def test_conflicting_content_length_from_origin_is_502(origin, edgecache):
    # RFC 9112 6.3: a proxy that receives differing Content-Length values in a
    # response must discard it and answer 502, never pick one (response splitting).
    with edgecache.client() as c:
        c.request("GET", target("/cl", size=10, hdr=["Content-Length:4", "Content-Length:5"]))
        r = c.read_final()
        check_error_then_usable(edgecache, c, r, 502)
