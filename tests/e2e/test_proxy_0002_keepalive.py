# test_proxy_0002_keepalive — persistent connections on both sides: the daemon
# reuses pooled origin connections, honours origin.pool_max_idle and
# origin.pool_idle_timeout, never reuses a connection the origin closed, and
# keeps client connections open unless asked to close.

import time

from e2elib import pattern_bytes, target, wait_for


def test_origin_connection_reused_across_clients(origin, start_edgecache):
    ec = start_edgecache(workers=1)
    with ec.client() as c:
        for i in range(10):
            c.request("GET", target("/k", size=i + 1))
            assert c.read_final().body == pattern_bytes(i + 1)
    for i in range(10):
        with ec.client() as c:
            c.request("GET", target("/k", size=100 + i))
            assert c.read_final().body == pattern_bytes(100 + i)
    st = origin.stats()
    assert st["requests"] == 20
    assert st["connections"] == 1, "20 sequential requests with -w 1 should share one origin connection"
    assert len(set(e["conn_id"] for e in origin.log())) == 1


def test_pool_max_idle_zero_disables_reuse(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.pool_max_idle=0", workers=1)
    with ec.client() as c:
        for i in range(20):
            c.request("GET", target("/k", size=i))
            assert c.read_final().body == pattern_bytes(i)
    st = origin.stats()
    assert st["requests"] == 20
    assert st["connections"] == 20


def test_origin_close_is_not_reused(origin, start_edgecache):
    ec = start_edgecache(workers=1)
    with ec.client() as c:
        c.request("GET", "/one")
        assert c.read_final().status == 200
        c.request("GET", target("/two", ka=0, size=50))
        r = c.read_final()
        assert r.status == 200 and r.body == pattern_bytes(50)
        assert "close" not in r.tokens("connection") or c.closed(2), \
            "the origin's Connection: close is hop-by-hop; the client connection may stay open"
    for i in range(3):
        r = ec.get(target("/three", size=i + 5))
        assert r.status == 200 and r.body == pattern_bytes(i + 5)
    st = origin.stats()
    assert st["requests"] == 5
    assert st["connections"] == 2


def test_origin_closed_idle_connection_is_not_reused(origin, start_edgecache):
    # The origin closes a pooled connection after 0.2 s idle (its keep-alive
    # timeout); the next request must still succeed, on a new connection.
    ec = start_edgecache(workers=1)
    r = ec.get(target("/a", idle_close=0.2))
    assert r.status == 200
    wait_for(lambda: origin.stats()["open"] == 0, 3, "the origin to close the idle connection")
    time.sleep(0.1)
    r = ec.get(target("/b", size=77))
    assert r.status == 200 and r.body == pattern_bytes(77)
    assert origin.stats()["connections"] == 2


def test_pool_idle_timeout_closes_origin_connection(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.pool_idle_timeout=300ms", workers=1)
    assert ec.get("/a").status == 200
    assert origin.stats()["open"] == 1
    wait_for(lambda: origin.stats()["open"] == 0, 3, "the daemon to close its idle origin connection")
    assert ec.get("/b").status == 200
    assert origin.stats()["connections"] == 2


def test_client_connection_persists(origin, edgecache):
    with edgecache.client() as c:
        for i in range(50):
            c.request("GET", target("/p%d" % i, size=i))
            r = c.read_final()
            assert r.status == 200 and r.body == pattern_bytes(i)
            assert "close" not in r.tokens("connection")
        assert not c.closed(0.2)


def test_client_connection_close(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", "/x", headers=[("Connection", "close")])
        r = c.read_final()
        assert r.status == 200
        assert "close" in r.tokens("connection")
        assert c.closed(3)
    # the origin connection is independent of the client's: it stays pooled
    assert edgecache.get("/y").status == 200
    assert origin.stats()["connections"] == 1
