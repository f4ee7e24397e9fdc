# test_harness_0001_origin — the test origin and the harness on their own, with no
# daemon: if these fail, the proxy scenarios' verdicts mean nothing.

import hashlib
import json
import re
import socket
import time
from pathlib import Path

import pytest

from e2elib import (
    Client,
    IncompleteResponse,
    MalformedResponse,
    build_request,
    closed_port,
    curl,
    parse_access_line,
    pattern_bytes,
    pattern_sha256,
    target,
    origin_script,
)


def test_size_body_is_the_pattern(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/a", size=100))
        r = c.read_final()
    assert r.status == 200
    assert r.framing == "length"
    assert r.header("content-length") == "100"
    assert r.body == pattern_bytes(100)
    assert r.body[:27] == b"abcdefghijklmnopqrstuvwxyza"


def test_default_body_names_the_request(origin):
    with Client(origin.port) as c:
        c.request("GET", "/x/y?q=1")
        r = c.read_final()
    assert r.body == b"GET /x/y?q=1\n"


def test_status_and_headers(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/s", status=404, hdr=["X-One:1", "X-Two: two words"], cc="max-age=5"))
        r = c.read_final()
    assert r.status == 404 and r.reason == "Not Found"
    assert r.header("x-one") == "1"
    assert r.header("x-two") == "two words"
    assert r.header("cache-control") == "max-age=5"


def test_chunked_with_trailer(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/c", chunked=1, size=100000, chunk=1000, trailer="X-Sum:abc"))
        r = c.read_final()
    assert r.framing == "chunked"
    assert r.body == pattern_bytes(100000)
    assert r.trailers == [("X-Sum", "abc")]
    assert r.header("trailer") == "X-Sum"
    assert r.raw.count(b"\r\n3e8\r\n") == 100  # 100 chunks of 1000 bytes


def test_close_delimited(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/c", close=1, size=5000))
        r = c.read_final()
        assert r.framing == "close"
        assert r.header("content-length") is None
        assert r.body == pattern_bytes(5000)
        assert c.eof


def test_keepalive_and_ka0(origin):
    with Client(origin.port) as c:
        c.request("GET", "/1")
        assert c.read_final().status == 200
        c.request("GET", target("/2", ka=0))
        r = c.read_final()
        assert r.tokens("connection") == ["close"]
        assert c.closed(2)
    assert origin.stats()["connections"] == 1


def test_idle_close(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/i", idle_close=0.3))
        c.read_final()
        assert origin.stats()["open"] == 1
        t0 = time.monotonic()
        assert c.closed(3)
        assert 0.2 < time.monotonic() - t0 < 2
    assert origin.stats()["open"] == 0


def test_pipelining_in_order(origin):
    with Client(origin.port) as c:
        c.send(
            build_request("GET", target("/p1", delay=0.3, size=10))
            + build_request("GET", target("/p2", size=20))
            + build_request("GET", target("/p3", delay=0.1, size=30))
        )
        sizes = [len(c.read_final().body) for _ in range(3)]
    assert sizes == [10, 20, 30]


def test_echo_preserves_headers_and_hashes_bodies(origin):
    body = b"x" * 70000
    with Client(origin.port) as c:
        c.request("POST", "/e?echo=1", headers=[("X-MiXeD", "v1"), ("x-mixed", "v2")], body=body)
        j = c.read_final().json()
        assert j["method"] == "POST" and j["target"] == "/e?echo=1" and j["version"] == "HTTP/1.1"
        assert j["headers"] == [
            ["Host", "example.test"],
            ["X-MiXeD", "v1"],
            ["x-mixed", "v2"],
            ["Content-Length", "70000"],
        ]
        assert j["body_len"] == 70000
        assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
        # chunked request body, with a trailer, on the same connection
        c.send(
            b"PUT /e?echo=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
        )
        j = c.read_final().json()
        assert j["body_len"] == 11
        assert j["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
        assert j["trailers"] == [["X-T", "1"]]
    log = origin.log()
    assert [e["body_len"] for e in log] == [70000, 11]
    assert log[0]["conn_id"] == log[1]["conn_id"]


def test_expect_100_continue(origin):
    with Client(origin.port) as c:
        c.request("POST", "/e?echo=1", headers=[("Content-Length", "3"), ("Expect", "100-continue")])
        interim = c.read_response()
        assert interim.status == 100
        c.send(b"abc")
        r = c.read_final()
        assert r.json()["body_len"] == 3


def test_truncate_is_incomplete(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/t", size=1000, truncate=100))
        with pytest.raises(IncompleteResponse) as e:
            c.read_final()
    assert b"Content-Length: 1000" in e.value.partial
    assert e.value.partial.endswith(pattern_bytes(100))


def test_truncate_chunked_is_incomplete(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/t", size=1000, chunked=1, chunk=300, truncate=450))
        with pytest.raises(IncompleteResponse):
            c.read_final()


def test_reset_and_garbage(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/r", reset=1))
        with pytest.raises(IncompleteResponse) as e:
            c.read_final()
        assert e.value.partial == b""
    with Client(origin.port) as c:
        c.request("GET", target("/g", garbage=1))
        with pytest.raises(MalformedResponse):
            c.read_final()
    assert origin.stats()["requests"] == 2


def test_head_204_304(origin):
    with Client(origin.port) as c:
        c.request("HEAD", target("/h", size=500))
        r = c.read_final(method="HEAD")
        assert r.header("content-length") == "500" and r.body == b""
        c.request("GET", target("/n", status=204))
        r = c.read_final()
        assert r.status == 204 and r.header("content-length") is None
        c.request("GET", target("/v", etag='"e1"'), headers=[("If-None-Match", '"e0", "e1"')])
        r = c.read_final()
        assert r.status == 304 and r.header("etag") == '"e1"'
        c.request("GET", target("/v", etag='"e1"'), headers=[("If-None-Match", '"e2"')])
        assert c.read_final().status == 200
        lm = "Tue, 03 Nov 2026 10:00:00 GMT"
        c.request("GET", target("/l", lm=lm), headers=[("If-Modified-Since", lm)])
        assert c.read_final().status == 304
        c.request("GET", target("/l", lm=lm), headers=[("If-Modified-Since", "Mon, 02 Nov 2026 10:00:00 GMT")])
        assert c.read_final().status == 200


def test_delays(origin):
    with Client(origin.port) as c:
        t0 = time.monotonic()
        c.request("GET", target("/d", delay=0.3))
        c.read_final()
        assert time.monotonic() - t0 >= 0.3
        t0 = time.monotonic()
        c.request("GET", target("/d", size=1000, body_delay=0.3))
        r = c.read_final()
        assert time.monotonic() - t0 >= 0.3
        assert r.body == pattern_bytes(1000)


def test_user_framing_fields_replace_the_origins(origin):
    # hdr=Content-Length:... lets a scenario make the origin lie about its framing
    with Client(origin.port) as c:
        c.request("GET", target("/f", size=10, hdr=["Content-Length:4", "Content-Length:5"]))
        raw = c.recv_some(1)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.count(b"Content-Length") == 2 and b"Content-Length: 10" not in head
    assert body == pattern_bytes(10)


def test_chunked_body_delay(origin):
    with Client(origin.port) as c:
        t0 = time.monotonic()
        c.request("GET", target("/d", size=4000, chunked=1, chunk=1000, body_delay=0.3))
        r = c.read_final()
        assert time.monotonic() - t0 >= 0.3
        assert r.body == pattern_bytes(4000)


def test_http10_client(origin):
    with Client(origin.port) as c:
        c.send(b"GET /ten?size=10 HTTP/1.0\r\n\r\n")
        r = c.read_final()
        assert r.body == pattern_bytes(10)
        assert c.closed(2)
    with Client(origin.port) as c:
        c.send(b"GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_final()
        assert r.tokens("connection") == ["keep-alive"]
        c.send(b"GET /ten HTTP/1.0\r\n\r\n")
        assert c.read_final().status == 200


def test_stats_log_reset(origin):
    with Client(origin.port) as c:
        c.request("GET", "/a")
        c.read_final()
        c.request("GET", "/a?x=1")
        c.read_final()
        with Client(origin.port) as c2:
            c2.request("GET", "/b")
            c2.read_final()
            st = origin.stats()
            assert st == {"requests": 3, "connections": 2, "open": 2, "paths": {"/a": 2, "/b": 1}}
        log = origin.log()
        assert [e["target"] for e in log] == ["/a", "/a?x=1", "/b"]
        assert log[0]["conn_id"] == log[1]["conn_id"] != log[2]["conn_id"]
        origin.reset()
        assert origin.stats() == {"requests": 0, "connections": 0, "open": 1, "paths": {}}
        assert origin.log() == []
        c.request("GET", "/a")  # a connection from before the reset counts again
        c.read_final()
        assert origin.stats()["connections"] == 1


def test_malformed_request_is_counted(origin):
    with Client(origin.port) as c:
        c.send(b"NONSENSE\r\n\r\n")
        r = c.read_final()
        assert r.status == 400
        assert c.closed(2)
    assert origin.stats()["requests"] == 1
    assert origin.log()[0]["error"]


def test_disconnecting_client_does_not_kill_origin(origin):
    for _ in range(5):
        c = Client(origin.port)
        c.request("GET", target("/big", size=50000000))
        c.recv_some(0.05)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        c.close()
    c = Client(origin.port)
    c.send(b"GET /half")
    c.close()
    with Client(origin.port) as c:
        c.request("GET", "/ok")
        assert c.read_final().status == 200


def test_large_upload_and_download(origin):
    n = 64 << 20
    block = pattern_bytes(26 * 40960)
    with Client(origin.port, timeout=30) as c:
        c.request("PUT", "/up?echo=1", headers=[("Content-Length", str(n))])
        left = n
        while left:
            k = min(left, len(block))
            c.send(block[:k])
            left -= k
        j = c.read_final().json()
    assert j["body_len"] == n
    assert j["body_sha256"] == pattern_sha256(n)
    res = curl(origin.url("/down", size=n), write_out="%{http_code} %{size_download}")
    assert res.rc == 0 and res.out == "200 %d" % n


def test_port_file_and_banner(tmp_path):
    import subprocess
    import sys

    pf = tmp_path / "port"
    p = subprocess.Popen(
        [sys.executable, str(origin_script()), "--port-file", str(pf)], stdout=subprocess.PIPE
    )
    try:
        line = p.stdout.readline().decode()
        m = re.match(r"^ec-testorigin listening on 127\.0\.0\.1:(\d+)\n$", line)
        assert m, line
        assert pf.read_text().strip() == m.group(1)
    finally:
        p.terminate()
        p.wait(5)


# ---- the harness's own helpers -----------------------------------------------


def test_target_encoding():
    assert target("/a") == "/a"
    assert target("/a", size=5, hdr=["A:1", "B:2"]) == "/a?size=5&hdr=A:1&hdr=B:2"
    assert target("x", cc="max-age=1, public") == "/x?cc=max-age=1,%20public"


def test_access_line_parser():
    d = parse_access_line(
        '2026-11-25T01:29:57.123Z 127.0.0.1 "GET /a?b=1 HTTP/1.1" 200 1234 0.001234 - '
        "127.0.0.1:8080 0.000999 -"
    )
    assert d["method"] == "GET" and d["target"] == "/a?b=1" and d["status"] == 200
    assert d["bytes"] == 1234 and d["backend"] == "127.0.0.1:8080" and d["reason"] == "-"
    with pytest.raises(AssertionError):
        parse_access_line('2026-11-25 127.0.0.1 "GET / HTTP/1.1" 200 1 0.1 - - - -')


def test_strict_reader_rejects_bad_framing():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    cases = [
        b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nX : y\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
    ]
    try:
        for raw in cases:
            c = Client(port)
            s, _ = srv.accept()
            s.sendall(raw)
            s.close()
            with pytest.raises(MalformedResponse):
                c.read_final()
            c.close()
    finally:
        srv.close()


def test_closed_port_refuses():
    port = closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_every_e2e_file_is_distributed():
    here = Path(__file__).resolve().parent
    am = (here / "local.am").read_text()
    for f in sorted(here.iterdir()):
        if f.suffix in (".py", ".sh"):
            assert "tests/e2e/" + f.name in am, "%s missing from EXTRA_DIST in local.am" % f.name
