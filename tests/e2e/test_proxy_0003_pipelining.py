# test_proxy_0003_pipelining — requests sent back to back in one write are all
# answered, completely and in request order, whatever the origin's timing.

from e2elib import build_request, pattern_bytes, target


def test_three_pipelined_requests_in_order(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.send(
            build_request("GET", target("/p1", delay=0.3, size=1111))
            + build_request("GET", target("/p2", size=2222))
            + build_request("GET", target("/p3", delay=0.1, size=3333))
        )
        bodies = [c.read_final().body for _ in range(3)]
        assert [len(b) for b in bodies] == [1111, 2222, 3333]
        assert bodies == [pattern_bytes(1111), pattern_bytes(2222), pattern_bytes(3333)]
        # the connection is still in sync afterwards
        c.request("GET", target("/p4", size=44))
        assert c.read_final().body == pattern_bytes(44)
    assert origin.stats()["paths"] == {"/p1": 1, "/p2": 1, "/p3": 1, "/p4": 1}


def test_pipelined_requests_with_bodies(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.send(
            build_request("POST", "/b1?echo=1", body=b"x" * 1000)
            + build_request("GET", target("/b2", size=10, delay=0.1))
            + b"PUT /b3?echo=1 HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"3\r\nabc\r\n0\r\n\r\n"
            + build_request("GET", "/b4?echo=1")
        )
        r1, r2, r3, r4 = (c.read_final() for _ in range(4))
    assert r1.json()["target"] == "/b1?echo=1" and r1.json()["body_len"] == 1000
    assert r2.body == pattern_bytes(10)
    assert r3.json()["target"] == "/b3?echo=1" and r3.json()["body_len"] == 3
    assert r4.json()["target"] == "/b4?echo=1" and r4.json()["body_len"] == 0


def test_many_pipelined_requests(origin, edgecache):
    n = 100
    with edgecache.client(timeout=20) as c:
        c.send(b"".join(build_request("GET", target("/m%d" % i, size=i)) for i in range(n)))
        for i in range(n):
            r = c.read_final()
            assert r.status == 200 and r.body == pattern_bytes(i), "response %d out of order" % i
    assert origin.stats()["requests"] == n
