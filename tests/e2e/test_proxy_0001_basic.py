# test_proxy_0001_basic — a request goes through the daemon to the origin and the
# response comes back intact: status, fields, body, Via; absolute-form targets;
# several workers and concurrent clients.

import threading

from e2elib import Client, curl, pattern_bytes, req_header, target


def test_get_body_and_status(origin, edgecache):
    r = edgecache.get(target("/a", size=1000))
    assert r.status == 200
    assert r.body == pattern_bytes(1000)
    assert r.header("x-origin-conn") is not None, "response fields from the origin are passed on"
    st = origin.stats()
    assert st["requests"] == 1 and st["paths"] == {"/a": 1}


def test_curl_get(origin, edgecache, tmp_path):
    out = tmp_path / "body"
    res = curl(edgecache.url("/c", size=123456), output=out)
    assert res.rc == 0, res
    assert res.code == 200
    assert out.read_bytes() == pattern_bytes(123456)


def test_status_codes_pass_through(origin, edgecache):
    with edgecache.client() as c:
        for status in (201, 301, 404, 410, 500, 503):
            c.request("GET", target("/s", status=status, size=10, hdr="Location:/elsewhere"))
            r = c.read_final()
            assert r.status == status, r
            assert r.body == pattern_bytes(10)
            assert r.header("location") == "/elsewhere"


def test_response_fields_pass_through(origin, edgecache):
    r = edgecache.get(
        target("/h", hdr=["X-Custom:one", "X-Custom:two", "Set-Cookie:a=1; Path=/", "Set-Cookie:b=2"])
    )
    assert r.header_all("x-custom") == ["one", "two"]
    assert r.header_all("set-cookie") == ["a=1; Path=/", "b=2"], "Set-Cookie must not be combined"


def test_via_on_response(origin, edgecache):
    r = edgecache.get("/v")
    assert r.tokens("via") == ["1.1 edgecache"], r.headers
    r = edgecache.get(target("/v", hdr="Via:1.0 upstream"))
    assert r.tokens("via") == ["1.0 upstream", "1.1 edgecache"], r.headers


def test_request_reaches_origin_as_sent(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", "/e/x%20y?echo=1&b=2&a=1", headers=[("X-Test", "Value  With  Spaces"), ("Accept", "*/*")])
        j = c.read_final().json()
    assert j["method"] == "GET"
    assert j["target"] == "/e/x%20y?echo=1&b=2&a=1"
    assert j["version"] == "HTTP/1.1"
    assert req_header(j, "x-test") == ["Value  With  Spaces"]
    assert req_header(j, "host") == ["example.test"]


def test_methods_pass_through(origin, edgecache):
    with edgecache.client() as c:
        for m in ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND"):
            c.request(m, "/m?echo=1", body=b"" if m in ("POST", "PUT", "PATCH") else None)
            j = c.read_final().json()
            assert j["method"] == m


def test_absolute_form_target(origin, edgecache):
    with edgecache.client() as c:
        c.send(b"GET http://example.test/abs/a?echo=1 HTTP/1.1\r\nHost: example.test\r\n\r\n")
        j = c.read_final().json()
    assert j["target"] == "/abs/a?echo=1", "absolute-form must be forwarded in origin-form"
    assert req_header(j, "host") == ["example.test"]


def test_absolute_form_authority_wins_over_host(origin, edgecache):
    # RFC 9112 3.2.2: with an absolute-form target the Host field is replaced by its authority.
    with edgecache.client() as c:
        c.send(b"GET http://example.test:8080/abs?echo=1 HTTP/1.1\r\nHost: other.test\r\n\r\n")
        j = c.read_final().json()
    assert j["target"] == "/abs?echo=1"
    assert req_header(j, "host") == ["example.test:8080"]


def test_absolute_form_without_path(origin, edgecache):
    # RFC 3986 path-abempty may be empty; RFC 9112 3.2.1: the origin-form path is then "/"
    with edgecache.client() as c:
        c.send(b"GET http://example.test?echo=1 HTTP/1.1\r\nHost: example.test\r\n\r\n")
        r = c.read_final()
        assert r.status == 200, "%r %r" % (r, r.body)
        j = r.json()
    assert j["target"] == "/?echo=1"


def test_concurrent_clients_with_two_workers(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    errors = []

    def worker(n):
        try:
            with ec.client(timeout=10) as c:
                for i in range(10):
                    size = 1000 * n + i
                    c.request("GET", target("/w%d" % n, size=size))
                    r = c.read_final()
                    if r.status != 200 or r.body != pattern_bytes(size):
                        errors.append("client %d request %d: %r" % (n, i, r))
        except Exception as e:  # reported below
            errors.append("client %d: %r" % (n, e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert origin.stats()["requests"] == 160


def test_http10_request(origin, edgecache):
    with Client(edgecache.port) as c:
        c.send(b"GET /ten?size=100 HTTP/1.0\r\n\r\n")
        r = c.read_final()
        assert r.status == 200
        assert r.body == pattern_bytes(100)
        assert c.closed(3), "an HTTP/1.0 request without keep-alive ends the connection"


def test_http10_keepalive(origin, edgecache):
    with Client(edgecache.port) as c:
        c.send(b"GET /ten?size=10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_final()
        assert r.body == pattern_bytes(10)
        if "keep-alive" in r.tokens("connection"):
            assert r.framing == "length"
            c.send(b"GET /ten?size=20 HTTP/1.0\r\n\r\n")
            assert c.read_final().body == pattern_bytes(20)
        else:
            assert c.closed(3)
