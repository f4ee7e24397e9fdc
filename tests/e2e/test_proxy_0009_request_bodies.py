# test_proxy_0009_request_bodies — request bodies reach the origin intact whatever
# their framing (Content-Length, chunked with extensions and trailers, empty),
# one after another on a connection, and Expect: 100-continue gets its interim
# response before the final one.

import hashlib
import os
import time

from e2elib import build_request


def test_post_content_length(origin, edgecache):
    body = os.urandom(100000)
    with edgecache.client(timeout=10) as c:
        c.request("POST", "/u?echo=1", body=body)
        j = c.read_final().json()
    assert j["method"] == "POST"
    assert j["body_len"] == len(body)
    assert j["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_post_chunked(origin, edgecache):
    parts = [os.urandom(n) for n in (1, 4096, 70000, 3)]
    raw = b"POST /u?echo=1 HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw += b"".join(b"%x;ext=%d\r\n%s\r\n" % (len(p), i, p) for i, p in enumerate(parts))
    raw += b"0\r\nX-Trailer: t\r\n\r\n"
    with edgecache.client(timeout=10) as c:
        c.send(raw)
        j = c.read_final().json()
    whole = b"".join(parts)
    assert j["body_len"] == len(whole)
    assert j["body_sha256"] == hashlib.sha256(whole).hexdigest()


def test_post_chunked_in_slow_pieces(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.send(b"PUT /u?echo=1 HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"5\r\nhel", b"lo\r\n", b"6\r", b"\n world\r\n", b"0\r\n", b"\r\n"):
            time.sleep(0.05)
            c.send(piece)
        j = c.read_final().json()
    assert j["body_len"] == 11
    assert j["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()


def test_empty_bodies(origin, edgecache):
    with edgecache.client() as c:
        c.request("POST", "/u?echo=1", body=b"")
        assert c.read_final().json()["body_len"] == 0
        c.send(b"POST /u?echo=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert c.read_final().json()["body_len"] == 0


def test_bodies_back_to_back_on_one_connection(origin, edgecache):
    bodies = [os.urandom(n) for n in (10, 0, 65536, 1, 300000)]
    with edgecache.client(timeout=10) as c:
        for b in bodies:
            c.request("POST", "/u?echo=1", body=b)
            j = c.read_final().json()
            assert j["body_len"] == len(b)
            assert j["body_sha256"] == hashlib.sha256(b).hexdigest()
    assert [e["body_len"] for e in origin.log()] == [len(b) for b in bodies]


def test_expect_100_continue(origin, edgecache):
    body = b"0123456789" * 1000
    with edgecache.client(timeout=10) as c:
        c.request("POST", "/u?echo=1", headers=[("Content-Length", str(len(body))), ("Expect", "100-continue")])
        r = c.read_response(timeout=3)
        assert r.status == 100, "expected 100 Continue before sending the body, got %r" % r
        assert r.raw.startswith(b"HTTP/1.1 100 Continue\r\n"), r.raw
        c.send(body)
        r = c.read_final()
        assert r.status == 200
        j = r.json()
        assert j["body_len"] == len(body)
        assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
        c.request("GET", "/after")
        assert c.read_final().status == 200


def test_expect_100_continue_chunked(origin, edgecache):
    with edgecache.client(timeout=10) as c:
        c.send(b"POST /u?echo=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        r = c.read_response(timeout=3)
        assert r.status == 100, r
        c.send(b"3\r\nabc\r\n0\r\n\r\n")
        r = c.read_final()
        assert r.json()["body_len"] == 3


def test_body_sent_without_waiting_for_100(origin, edgecache):
    # a client may send the body right away; the daemon must cope either way
    body = b"x" * 5000
    with edgecache.client(timeout=10) as c:
        c.send(build_request("POST", "/u?echo=1", [("Expect", "100-continue")], body=body))
        r = c.read_final()
        assert r.status == 200
        assert r.json()["body_len"] == 5000
        assert all(i.status == 100 for i in r.interim)
        c.request("GET", "/after")
        assert c.read_final().status == 200


def send_pattern_upload(c, n):
    from e2elib import pattern_bytes

    block = pattern_bytes(26 * 40960)
    c.request("PUT", "/u?echo=1", headers=[("Content-Length", str(n))])
    left = n
    while left:
        k = min(left, len(block))
        c.send(block[:k])
        left -= k


def test_large_upload_on_fresh_origin_connection(origin, edgecache):
    # The body arrives faster than the origin connection is set up: the daemon
    # must resume forwarding once it is, not stall with the client unread.
    from e2elib import pattern_sha256

    n = 16 << 20
    with edgecache.client(timeout=10) as c:
        send_pattern_upload(c, n)
        r = c.read_final(timeout=10)
        assert r.status == 200, "%r %r" % (r, r.body)
        assert r.json()["body_len"] == n
        assert r.json()["body_sha256"] == pattern_sha256(n)


def test_large_upload_on_pooled_origin_connection(origin, edgecache):
    from e2elib import pattern_sha256

    n = 16 << 20
    with edgecache.client(timeout=10) as c:
        c.request("GET", "/warm")
        assert c.read_final().status == 200
        send_pattern_upload(c, n)
        r = c.read_final(timeout=10)
        assert r.status == 200, "%r %r" % (r, r.body)
        assert r.json()["body_sha256"] == pattern_sha256(n)
