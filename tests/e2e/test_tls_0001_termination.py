# test_tls_0001_termination — TLS listeners: curl over TLS (HTTP/1.1 and h2 by ALPN)
# gets the cached responses an http client gets; SNI picks the certificate (exact,
# wildcard, default); only TLS 1.2 and 1.3; a broken handshake costs nothing; a
# certificate that does not match its key is a startup error naming the key.

import socket
import subprocess

from e2elib import access_lines, daemon_binary, parse_access_line, pattern_bytes
from test_cache_0000_support import cache_status, origin_count
from test_tls_0000_support import curl_tls, pki, s_client, served_cn, start_tls  # noqa: F401


def test_curl_over_tls_http11_and_h2(start_tls, origin, tmp_path):
    log = tmp_path / "access.log"
    ec = start_tls(access_log=log)
    path = "/tls1?size=3000&cc=max-age%3D60"
    out1, out2 = tmp_path / "b1", tmp_path / "b2"
    r1 = curl_tls(ec, "a.test", path, "-D", tmp_path / "h1", http="--http1.1", output=out1)
    assert r1.rc == 0 and r1.out == "200 1.1", r1
    assert out1.read_bytes() == pattern_bytes(3000)
    r2 = curl_tls(ec, "a.test", path, "-D", tmp_path / "h2", http="--http2", output=out2)
    assert r2.rc == 0 and r2.out == "200 2", r2
    assert out2.read_bytes() == pattern_bytes(3000)
    h2 = (tmp_path / "h2").read_text().lower()
    assert "cache-status: edgecache; hit" in h2, h2
    assert origin_count(origin, "/tls1") == 1
    lines = [parse_access_line(l) for l in access_lines(log, 2, timeout=5)]
    protos = sorted(l["proto"] for l in lines if l["target"] == path)
    assert protos == ["HTTP/1.1", "HTTP/2"], lines


def test_sni_picks_the_certificate(start_tls):
    ec = start_tls()
    assert served_cn(ec, "a.test") == "a.test"
    assert served_cn(ec, "b.test") == "b.test"
    assert served_cn(ec, "B.TEST") == "b.test"
    assert served_cn(ec, "x.wild.test") == "*.wild.test"
    # a wildcard covers one label only: these get the default (the first) certificate
    assert served_cn(ec, "wild.test") == "a.test"
    assert served_cn(ec, "a.b.wild.test") == "a.test"
    assert served_cn(ec, "unknown.example") == "a.test"
    assert served_cn(ec, None) == "a.test"
    # and curl, which verifies the name, is happy with each
    for host in ("a.test", "b.test", "x.wild.test"):
        r = curl_tls(ec, host, "/sni?size=10")
        assert r.rc == 0 and r.code == 200, (host, r)


def test_versions_and_alpn(start_tls):
    ec = start_tls()
    out = s_client(ec, "a.test", "-tls1_2")
    assert "TLSv1.2" in out and "Verify return code: 0 (ok)" in out, out
    assert "ECDHE" in out and "GCM" in out or "CHACHA20" in out, out
    out = s_client(ec, "a.test", "-tls1_3")
    assert "TLSv1.3" in out and "Verify return code: 0 (ok)" in out, out
    out = s_client(ec, "a.test", "-tls1_1")
    assert "Cipher is (NONE)" in out or "no protocols available" in out or "alert" in out, out
    assert "ALPN protocol: h2" in s_client(ec, "a.test", "-alpn", "h2,http/1.1")
    assert "ALPN protocol: http/1.1" in s_client(ec, "a.test", "-alpn", "http/1.1")
    assert "No ALPN negotiated" in s_client(ec, "a.test", "-alpn", "spdy/3")


def test_plain_http_on_the_tls_port_is_dropped(start_tls):
    ec = start_tls()
    s = socket.create_connection(("127.0.0.1", ec.tls_port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    try:
        data = s.recv(4096)  # an alert, or nothing: the connection ends either way
    except ConnectionResetError:
        data = b""
    s.close()
    assert not data.startswith(b"HTTP/1.1 200"), data
    r = curl_tls(ec, "a.test", "/after?size=10")
    assert r.rc == 0 and r.code == 200, r
    assert "tls handshake with 127.0.0.1 failed" in ec.stderr_text()


def test_mismatched_key_is_a_startup_error(pki):
    a_pem, _ = pki.certs["a.test"]
    _, b_key = pki.certs["b.test"]
    p = subprocess.run(
        [str(daemon_binary()), "--check", "-l", "127.0.0.1:0", "-o", "http://127.0.0.1:9",
         "--tls-listen", "127.0.0.1:0", "--cert", "%s,%s" % (a_pem, b_key)],
        capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode != 0, err
    assert "certs[0].key" in err and "mismatch" in err, err
