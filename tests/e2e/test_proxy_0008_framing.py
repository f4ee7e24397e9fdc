# test_proxy_0008_framing — response framing on the way through: chunked and
# close-delimited origin bodies reach HTTP/1.1 and HTTP/1.0 clients intact with a
# framing each can read; HEAD, 204 and 304 carry no body and leave the
# connection usable.

from e2elib import Client, curl, pattern_bytes, target


def test_chunked_passthrough_raw(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.request("GET", target("/c", chunked=1, size=100000, chunk=1000))
        r = c.read_final()
        assert r.status == 200
        assert r.framing in ("chunked", "length"), r.framing
        assert r.body == pattern_bytes(100000)
        # still in sync
        c.request("GET", target("/after", size=7))
        assert c.read_final().body == pattern_bytes(7)


def test_chunked_passthrough_curl(origin, edgecache, tmp_path):
    out = tmp_path / "body"
    res = curl(edgecache.url("/c", chunked=1, size=100000, chunk=1000), output=out)
    assert res.rc == 0 and res.code == 200, res
    assert out.read_bytes() == pattern_bytes(100000)


def test_chunked_with_trailer_and_odd_chunks(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.request("GET", target("/c", chunked=1, size=70001, chunk=4097, trailer="X-Sum:abc"))
        r = c.read_final()
        assert r.body == pattern_bytes(70001)
        c.request("GET", "/after")
        assert c.read_final().status == 200


def test_chunked_empty_body(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", target("/c", chunked=1, size=0))
        r = c.read_final()
        assert r.status == 200 and r.body == b""
        c.request("GET", "/after")
        assert c.read_final().status == 200


def test_close_delimited_to_http11_client(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.request("GET", target("/cd", close=1, size=200000))
        r = c.read_final()
        assert r.status == 200
        assert r.body == pattern_bytes(200000)
        if r.framing == "close":
            assert c.eof
        else:
            c.request("GET", "/after")
            assert c.read_final().status == 200


def test_close_delimited_body_curl(origin, edgecache, tmp_path):
    out = tmp_path / "body"
    res = curl(edgecache.url("/cd", close=1, size=300000), output=out)
    assert res.rc == 0 and res.code == 200, res
    assert out.read_bytes() == pattern_bytes(300000)


def test_http10_client_gets_readable_body_from_chunked_origin(origin, edgecache):
    with Client(edgecache.port, timeout=10) as c:
        c.send(("GET %s HTTP/1.0\r\nHost: example.test\r\n\r\n" % target("/c", chunked=1, size=50000, chunk=999)).encode())
        r = c.read_final()
        assert r.framing in ("length", "close"), "HTTP/1.0 clients do not know chunked: %r" % r
        assert r.body == pattern_bytes(50000)
        assert c.closed(3)


def test_http10_client_close_delimited_origin(origin, edgecache):
    with Client(edgecache.port, timeout=10) as c:
        c.send(("GET %s HTTP/1.0\r\n\r\n" % target("/cd", close=1, size=50000)).encode())
        data = c.read_all_until_close(10)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0]
    assert b"transfer-encoding" not in head.lower()
    assert body == pattern_bytes(50000)


def test_head_has_no_body(origin, edgecache):
    with edgecache.client() as c:
        c.request("HEAD", target("/h", size=5000))
        r = c.read_final(method="HEAD")
        assert r.status == 200 and r.body == b""
        assert r.header("content-length") in (None, "5000")
        assert c.recv_some(0.3) == b"", "bytes after a HEAD response"
        c.request("GET", target("/h", size=5000))
        assert c.read_final().body == pattern_bytes(5000)
    # The HEAD miss was fetched as a GET (to be stored); the response had no
    # freshness, so the GET after it went to the origin again.
    assert [e["method"] for e in origin.log()] == ["GET", "GET"]


def test_head_of_chunked_has_no_body(origin, edgecache):
    with edgecache.client() as c:
        c.request("HEAD", target("/h", size=5000, chunked=1))
        r = c.read_final(method="HEAD")
        assert r.status == 200 and r.body == b""
        assert c.recv_some(0.3) == b""
        c.request("GET", "/after")
        assert c.read_final().status == 200


def test_204_has_no_body(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", target("/n", status=204))
        r = c.read_final()
        assert r.status == 204 and r.body == b""
        assert r.header("content-length") is None and r.header("transfer-encoding") is None
        assert c.recv_some(0.3) == b""
        c.request("GET", target("/after", size=3))
        assert c.read_final().body == pattern_bytes(3)


def test_304_has_no_body(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", target("/v", etag='"v1"', size=100), headers=[("If-None-Match", '"v1"')])
        r = c.read_final()
        assert r.status == 304 and r.body == b""
        assert r.header("etag") == '"v1"'
        assert c.recv_some(0.3) == b""
        c.request("GET", target("/v", status=304))
        r = c.read_final()
        assert r.status == 304 and r.body == b""
        c.request("GET", target("/after", size=3))
        assert c.read_final().body == pattern_bytes(3)


def test_zero_length_and_large_bodies(origin, edgecache):
    with edgecache.client(timeout=20) as c:
        c.request("GET", target("/z", size=0))
        r = c.read_final()
        assert r.status == 200 and r.body == b""
        c.request("GET", target("/l", size=8 << 20))
        r = c.read_final()
        assert r.body == pattern_bytes(8 << 20)
