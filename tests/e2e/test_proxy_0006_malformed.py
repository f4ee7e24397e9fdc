# test_proxy_0006_malformed — malformed and smuggling-shaped requests: each gets the
# daemon's own 4xx/5xx (400 unless a more specific code applies), the connection
# is closed after it, and nothing reaches the origin. Afterwards the daemon still
# serves a good request.

import pytest

from e2elib import assert_daemon_error

H = b"Host: example.test\r\n"

CASES = [
    # name, raw request, expected status
    ("cl_and_te", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("two_differing_cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("cl_list_differing", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!", 400),
    ("cl_plus", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", 400),
    ("cl_hex", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello", 400),
    ("cl_negative", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    ("cl_overflow", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("cl_empty", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: \r\n\r\n", 400),
    ("te_chunked_identity", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    # RFC 9112 §6.3 ¶4: chunked is not the final coding → 400 (not 501).
    ("te_xchunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    ("te_space_before_colon", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_in_http10", b"POST / HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs_fold", b"GET / HTTP/1.1\r\n" + H + b"X-Foo: a\r\n  b\r\n\r\n", 400),
    ("bare_lf", b"GET / HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n", 400),
    ("bare_lf_in_header", b"GET / HTTP/1.1\r\n" + H + b"X-Foo: a\nX-Bar: b\r\n\r\n", 400),
    ("nul_in_value", b"GET / HTTP/1.1\r\n" + H + b"X-Foo: a\x00b\r\n\r\n", 400),
    ("space_in_field_name", b"GET / HTTP/1.1\r\n" + H + b"X Foo: a\r\n\r\n", 400),
    ("empty_field_name", b"GET / HTTP/1.1\r\n" + H + b": a\r\n\r\n", 400),
    ("missing_host_11", b"GET / HTTP/1.1\r\nX-Foo: a\r\n\r\n", 400),
    ("two_hosts", b"GET / HTTP/1.1\r\n" + H + b"Host: other.test\r\n\r\n", 400),
    ("chunk_size_overflow", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n", 400),
    ("chunk_size_junk", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk_size_empty", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk_data_too_long", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk_extension_oversized", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;" + b"e" * 100000 + b"\r\nhello\r\n0\r\n\r\n", 400),
    ("method_invalid_token", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method_empty", b" / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("double_space", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("missing_target", b"GET HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("space_in_target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("version_garbage", b"GET / HTTQ/1.1\r\n" + H + b"\r\n", 400),
    ("http2_in_h1", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http3_in_h1", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505),
]


@pytest.mark.parametrize("name,raw,status", CASES, ids=[c[0] for c in CASES])
def test_malformed_request(origin, edgecache, name, raw, status):
    with edgecache.client() as c:
        c.send(raw)
        r = c.read_final()
        assert_daemon_error(r, status, closes=True)
        assert c.closed(3), "the connection must be closed after a %d for %s" % (status, name)
    assert origin.stats()["requests"] == 0, "a malformed request reached the origin: %r" % origin.log()
    # the daemon still serves
    r = edgecache.get("/after")
    assert r.status == 200
    assert origin.stats()["requests"] == 1


def test_malformed_after_good_request_on_same_connection(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", "/good")
        assert c.read_final().status == 200
        c.send(b"POST /bad HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab")
        r = c.read_final()
        assert_daemon_error(r, 400, closes=True)
        assert c.closed(3)
    assert origin.stats()["paths"] == {"/good": 1}


def test_smuggled_request_in_body_is_not_a_request(origin, edgecache):
    # CL.TE shape: whatever the daemon picks, "GET /smuggled" must never reach the origin.
    smuggle = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + H + b"\r\n"
    raw = (b"POST /front HTTP/1.1\r\n" + H + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
           % len(smuggle) + smuggle)
    with edgecache.client() as c:
        c.send(raw)
        c.read_final()
        c.closed(2)
    assert "/smuggled" not in origin.stats()["paths"]
