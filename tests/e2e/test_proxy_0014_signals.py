# test_proxy_0014_signals — SIGTERM drains (in-flight responses complete, the
# listener closes at once, the daemon exits 0, idle connections do not hold it,
# drain_timeout bounds it); SIGHUP reloads the -c file without dropping
# connections and keeps the old configuration when the new file is invalid.

import signal
import socket
import time

from e2elib import IncompleteResponse, req_header, target, wait_for


def refused(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except (ConnectionRefusedError, ConnectionResetError):
        # a reset: the connect landed in the accept queue of a listener that
        # was closing; it is not accepted either
        return True
    s.close()
    return False


def test_sigterm_drains_in_flight_request(origin, edgecache):
    port = edgecache.port
    with edgecache.client(timeout=10) as c:
        c.request("GET", target("/slow", delay=1, size=1000))
        wait_for(lambda: origin.stats()["requests"] == 1, 3, "the request to reach the origin")
        t0 = time.monotonic()
        edgecache.signal(signal.SIGTERM)
        wait_for(lambda: refused(port), 0.8, "new connections to be refused after SIGTERM")
        r = c.read_final()
        assert r.status == 200 and len(r.body) == 1000, "the in-flight response must complete"
    rc = edgecache.wait(10)
    assert rc == 0, "exit status %d after SIGTERM" % rc
    assert time.monotonic() - t0 < 5


def test_sigterm_with_idle_keepalive_connection_exits_promptly(origin, start_edgecache):
    ec = start_edgecache("-p", "drain_timeout=20s")
    with ec.client(timeout=10) as c:
        c.request("GET", "/a")
        assert c.read_final().status == 200
        t0 = time.monotonic()
        ec.signal(signal.SIGTERM)
        rc = ec.wait(10)
        took = time.monotonic() - t0
        assert rc == 0
        assert took < 3, "an idle keep-alive connection held the drain for %.1fs" % took
        assert c.closed(2)


def test_drain_timeout_bounds_shutdown(origin, start_edgecache):
    ec = start_edgecache("-p", "drain_timeout=1s")
    with ec.client(timeout=15) as c:
        c.request("GET", target("/very-slow", delay=8))
        wait_for(lambda: origin.stats()["requests"] == 1, 3, "the request to reach the origin")
        t0 = time.monotonic()
        ec.signal(signal.SIGTERM)
        rc = ec.wait(10)
        took = time.monotonic() - t0
        assert rc == 0, "exit status %d" % rc
        assert 0.8 <= took < 4, "drain_timeout=1s, exited after %.1fs" % took
        try:
            r = c.read_final(timeout=2)
            assert r.status >= 500, "got %r" % r
        except IncompleteResponse:
            pass


CONFIG = """\
forwarding:
  via: %s
"""


def via_seen(ec):
    r = ec.get("/v?echo=1")
    assert r.status == 200
    return ",".join(req_header(r.json(), "via")), ",".join(r.header_all("via"))


def test_sighup_reloads_config(origin, start_edgecache):
    ec = start_edgecache(config_text=CONFIG % "edge-one")
    to_origin, to_client = via_seen(ec)
    assert "edge-one" in to_origin and "edge-one" in to_client
    keep = ec.client(timeout=10)
    try:
        keep.request("GET", "/k1")
        assert keep.read_final().status == 200
        ec.reload(CONFIG % "edge-two")
        wait_for(lambda: "edge-two" in via_seen(ec)[0], 3, "the reloaded Via")
        to_origin, to_client = via_seen(ec)
        assert "edge-one" not in to_origin and "edge-two" in to_client
        # the keep-alive connection from before the reload still works
        keep.request("GET", "/k2?echo=1")
        r = keep.read_final()
        assert r.status == 200
    finally:
        keep.close()
    assert ec.alive()


def test_sighup_with_invalid_config_keeps_old(origin, start_edgecache):
    ec = start_edgecache(config_text=CONFIG % "edge-one")
    assert "edge-one" in via_seen(ec)[0]
    ec.reload("forwarding: [this is: not valid\n")
    time.sleep(0.5)
    assert ec.alive(), "an invalid config on SIGHUP must not stop the daemon"
    assert "edge-one" in via_seen(ec)[0]
    ec.reload(CONFIG % "edge-three")
    wait_for(lambda: "edge-three" in via_seen(ec)[0], 3, "the next valid reload")
