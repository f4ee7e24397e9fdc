# test_proxy_0015_large_keepalive — a response larger than the connection's
# send high-water mark (256 KiB), written in one go, must not stall the
# next request on the same keep-alive connection. Regression: a 1 MiB cache
# hit answered inside the read loop left reading disabled with nothing armed
# to turn it back on, so the second request waited forever.

from e2elib import pattern_bytes, target

SIZE = 1 << 20


def test_large_hits_back_to_back(origin, edgecache):
    url = target("/big", size=SIZE, cc="max-age=60")
    with edgecache.client(timeout=10) as c:
        for i in range(4):
            c.request("GET", url)
            r = c.read_final(timeout=10)
            assert r.status == 200
            assert r.body == pattern_bytes(SIZE), "response %d" % i
        # pipelined: two large hits in one write come back complete, in order
        c.send(2 * (b"GET " + url.encode() + b" HTTP/1.1\r\nHost: example.test\r\n\r\n"))
        for i in range(2):
            r = c.read_final(timeout=10)
            assert r.status == 200 and r.body == pattern_bytes(SIZE), "pipelined %d" % i
    assert origin.stats()["requests"] == 1


def test_large_proxied_responses_back_to_back(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        for i in range(3):
            c.request("GET", target("/p", size=SIZE + i))
            r = c.read_final(timeout=10)
            assert r.status == 200 and r.body == pattern_bytes(SIZE + i), "response %d" % i
    assert origin.stats()["requests"] == 3
