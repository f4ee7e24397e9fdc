# test_tls_0002_h2 — HTTP/2 to clients, over TLS (ALPN h2) and in clear with prior
# knowledge (h2c): each stream runs the HTTP/1.1 pipeline (hits, misses, coalescing,
# ranges, HEAD, request bodies), large bodies stream byte-exact within the client's
# flow-control windows, the announced limits are the documented ones, and h2load
# sees every request succeed.

import hashlib
import json
import re
import subprocess

from e2elib import access_lines, curl, parse_access_line, pattern_bytes, pattern_sha256
from test_cache_0000_support import origin_count
from test_tls_0000_support import curl_tls, pki, start_tls  # noqa: F401


def run(cmd, timeout=120):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def test_h2c_prior_knowledge(start_edgecache, origin, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log)
    path = "/h2c?size=2000&cc=max-age%3D60"
    for i in range(2):
        out = tmp_path / ("b%d" % i)
        r = curl(ec.url(path), "-D", tmp_path / ("h%d" % i), output=out,
                 write_out="%{http_code} %{http_version}", http="--http2-prior-knowledge")
        assert r.rc == 0 and r.out == "200 2", r
        assert out.read_bytes() == pattern_bytes(2000)
    assert "cache-status: edgecache; hit" in (tmp_path / "h1").read_text().lower()
    assert origin_count(origin, "/h2c") == 1
    # HTTP/1.1 still works on the same listener
    r = curl(ec.url(path), write_out="%{http_code} %{http_version}")
    assert r.out == "200 1.1", r
    lines = [parse_access_line(l) for l in access_lines(log, 3, timeout=5)]
    assert [l["proto"] for l in lines] == ["HTTP/2", "HTTP/2", "HTTP/1.1"], lines
    assert [l["cache"] for l in lines][:2] == ["miss-stored", "hit"], lines


def test_many_concurrent_streams_coalesce(start_tls, origin):
    ec = start_tls()
    url = "https://127.0.0.1:%d/many?size=1000&cc=max-age%%3D60&delay=0.3" % ec.tls_port
    rc, out, err = run(["nghttp", "-n", "-s", "-m", "100", url])
    assert rc == 0, err
    stats = [l for l in out.decode().splitlines() if re.match(r"^\s*\d+\s+\+", l)]
    assert len(stats) == 100, out.decode()
    assert all(" 200 1000 " in l for l in stats), out.decode()
    assert origin_count(origin, "/many") == 1  # one fill, 99 streams waited on it
    # and h2c the same way, on the plain listener: all hits now? a new key, coalesced
    rc, out, err = run(["nghttp", "-n", "-s", "-m", "100",
                        ec.url("/many2?size=1000&cc=max-age%3D60&delay=0.3")])
    stats = [l for l in out.decode().splitlines() if re.match(r"^\s*\d+\s+\+", l)]
    assert rc == 0 and len(stats) == 100 and all(" 200 1000 " in l for l in stats), out.decode()
    assert origin_count(origin, "/many2") == 1


def test_announced_settings(start_tls):
    ec = start_tls()
    rc, out, err = run(["nghttp", "-nv", ec.url("/settings?size=10")])
    assert rc == 0, err
    text = out.decode()
    assert "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128" in text, text
    assert "SETTINGS_MAX_HEADER_LIST_SIZE(0x06):32768" in text, text
    # both follow the configuration
    ec2 = start_tls("-p", "h2_max_streams=4", "-p", "limits.header_block=16K")
    rc, out, err = run(["nghttp", "-nv", ec2.url("/settings?size=10")])
    text = out.decode()
    assert "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):4" in text, text
    assert "SETTINGS_MAX_HEADER_LIST_SIZE(0x06):16384" in text, text


def test_large_body_and_ranges_over_h2(start_tls, origin, tmp_path):
    ec = start_tls()
    n = 8 * 1024 * 1024
    path = "/large?size=%d&cc=max-age%%3D60" % n
    want = pattern_sha256(n)
    for i in range(2):  # a miss streamed from the origin, then a hit from the cache
        out = tmp_path / ("large%d" % i)
        r = curl_tls(ec, "a.test", path, output=out)
        assert r.rc == 0 and r.out == "200 2", r
        assert hashlib.sha256(out.read_bytes()).hexdigest() == want
        out = tmp_path / ("large-h2c%d" % i)
        r = curl(ec.url(path), output=out, http="--http2-prior-knowledge")
        assert r.rc == 0 and r.code == 200, r
        assert hashlib.sha256(out.read_bytes()).hexdigest() == want
    # one fill per scheme: https:// and http:// are two keys (cache.key_scheme)
    assert origin_count(origin, "/large") == 2
    # small flow-control windows (16 KiB stream, 32 KiB connection): the data
    # provider defers and resumes many times, the bytes still arrive exact
    rc, body, err = run(["nghttp", "-w", "14", "-W", "15", tls := "https://127.0.0.1:%d%s" % (ec.tls_port, path)])
    assert rc == 0, err
    assert hashlib.sha256(body).hexdigest() == want
    # ranges: from the cache, and on a miss
    out = tmp_path / "r1"
    r = curl_tls(ec, "a.test", path, "-r", "1000000-1000099", output=out)
    assert r.out == "206 2", r
    assert out.read_bytes() == pattern_bytes(n)[1000000:1000100]
    out = tmp_path / "r2"
    r = curl_tls(ec, "a.test", "/rmiss?size=5000&cc=max-age%3D60", "-r", "10-19", output=out)
    assert r.code in (200, 206), r
    body = out.read_bytes()
    assert body == (pattern_bytes(5000)[10:20] if r.code == 206 else pattern_bytes(5000))


def test_head_and_request_body_over_h2(start_tls, origin, tmp_path):
    ec = start_tls()
    hd = tmp_path / "head"
    r = curl_tls(ec, "a.test", "/head?size=777&cc=max-age%3D60", "-I", "-D", hd)
    assert r.code == 200, r
    text = hd.read_text().lower()
    assert "content-length: 777" in text, text
    body = bytes(range(256)) * 1000
    src = tmp_path / "upload"
    src.write_bytes(body)
    out = tmp_path / "echo"
    r = curl_tls(ec, "a.test", "/post?echo=1", "--data-binary", "@%s" % src, output=out)
    assert r.code == 200, r
    echo = json.loads(out.read_bytes())
    assert echo["body_len"] == len(body), echo
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert echo["method"] == "POST"


def test_h2load_over_tls_all_succeed(start_tls):
    ec = start_tls()
    url = "https://127.0.0.1:%d/load?size=1024&cc=max-age%%3D60" % ec.tls_port
    rc, out, err = run(["h2load", "-n", "2000", "-c", "10", "-m", "10", url])
    text = out.decode()
    assert rc == 0, err
    assert "2000 succeeded, 0 failed, 0 errored, 0 timeout" in text, text
    assert "status codes: 2000 2xx" in text, text
    assert "Application protocol: h2" in text, text


def test_sigterm_drains_an_idle_h2_connection_with_goaway(start_edgecache):
    import socket
    import time

    ec = start_edgecache()
    s = socket.create_connection(("127.0.0.1", ec.port), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    time.sleep(0.2)
    t0 = time.monotonic()
    ec.stop()
    took = time.monotonic() - t0
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert took < 5, "an idle h2 connection held the drain for %.1f s" % took
    frames, i = [], 0
    while i + 9 <= len(data):
        n = int.from_bytes(data[i:i + 3], "big")
        frames.append(data[i + 3])
        i += 9 + n
    assert 7 in frames, "no GOAWAY before the close: frame types %r" % frames


def test_cookie_crumbs_reach_the_origin_as_one_field(start_edgecache, origin, tmp_path):
    ec = start_edgecache()
    out = tmp_path / "echo"
    # nghttp sends each -H cookie as its own HPACK field (crumbs)
    rc, body, err = run(["nghttp", "-H", "cookie: a=1", "-H", "cookie: b=2", "-H", "cookie: c=3",
                         ec.url("/cookie?echo=1")])
    assert rc == 0, err
    echo = json.loads(body)
    cookies = [v for (n, v) in echo["headers"] if n.lower() == "cookie"]
    assert cookies == ["a=1; b=2; c=3"], echo["headers"]


def test_idle_h2_connection_gets_goaway_then_close(start_edgecache):
    import socket
    import time

    ec = start_edgecache("-p", "limits.idle_timeout=1s")
    s = socket.create_connection(("127.0.0.1", ec.port), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    t0 = time.monotonic()
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    took = time.monotonic() - t0
    s.close()
    assert 0.8 < took < 5, "closed after %.1f s, limits.idle_timeout is 1 s" % took
    types, i = [], 0
    while i + 9 <= len(data):
        n = int.from_bytes(data[i:i + 3], "big")
        types.append(data[i + 3])
        i += 9 + n
    assert 7 in types, "no GOAWAY before the idle close: frame types %r" % types
    assert ec.alive()


def test_tls_handshake_timeout(start_tls):
    import socket
    import time

    ec = start_tls("-p", "limits.header_timeout=1s")
    s = socket.create_connection(("127.0.0.1", ec.tls_port), timeout=10)
    t0 = time.monotonic()
    assert s.recv(100) == b""  # no ClientHello: closed after the header timeout
    took = time.monotonic() - t0
    s.close()
    assert 0.8 < took < 5, took
    assert "not done within limits.header_timeout" in ec.stderr_text()


def test_large_upload_over_h2_with_flow_control(start_tls, origin, tmp_path):
    """8 MiB up, through 1 MiB stream windows that reopen only as the pipeline
    forwards the bytes to the origin: they all arrive, in order."""
    ec = start_tls()
    body = bytes((i * 7) % 251 for i in range(8 * 1024 * 1024))
    src = tmp_path / "upload"
    src.write_bytes(body)
    out = tmp_path / "echo"
    r = curl_tls(ec, "a.test", "/bigpost?echo=1", "--data-binary", "@%s" % src, output=out)
    assert r.code == 200, r
    echo = json.loads(out.read_bytes())
    assert echo["body_len"] == len(body), echo
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_response_before_the_body_ends_resets_the_client_side(start_edgecache, origin):
    """A request refused at its head (413: Content-Length over limits.body) while
    its client still sends the body: the stream ends with RST_STREAM(NO_ERROR) after
    the response, and the connection serves on."""
    import socket
    import struct

    ec = start_edgecache("-p", "limits.body=10")
    s = socket.create_connection(("127.0.0.1", ec.port), timeout=5)

    def frame(t, f, sid, p=b""):
        return struct.pack(">I", len(p))[1:] + bytes([t, f]) + struct.pack(">I", sid) + p

    # :method POST (static 3), :scheme http, :path /early, :authority a.test,
    # content-length (static 28, literal without indexing): 1000
    block = b"\x83\x86\x04\x06/early\x01\x06a.test\x0f\x0d\x041000"
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(1, 4, 1, block) +
              frame(0, 0, 1, b"x" * 100))
    data, frames = b"", []
    s.settimeout(3)
    try:
        while not any(t == 3 for (t, _sid) in frames):
            d = s.recv(65536)
            if not d:
                break
            data += d
            frames, i = [], 0
            while i + 9 <= len(data):
                n = int.from_bytes(data[i:i + 3], "big")
                frames.append((data[i + 3], int.from_bytes(data[i + 5:i + 9], "big")))
                i += 9 + n
    except socket.timeout:
        pass
    s.close()
    on1 = [t for (t, sid) in frames if sid == 1]
    assert on1[:1] == [1] and 3 in on1, frames  # HEADERS (413) ... RST_STREAM
    r = curl(ec.url("/after?size=10"), http="--http2-prior-knowledge")
    assert r.code == 200, r
