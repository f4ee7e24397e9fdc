# test_admin_0001_auth — the admin API's bearer token: GET /health is open, every
# other call needs "Authorization: Bearer TOKEN" (401 and a log line otherwise);
# cachectl says clearly when the token is refused or the API is unreachable; a
# non-loopback admin address without a token is refused at start; a Unix-socket
# admin listener works.

import http.client
import os
import subprocess

from e2elib import closed_port, daemon_binary, wait_for
from test_admin_0000_support import TOKEN, run_cachectl, start_admin


def admin_get(admin, path, token=None, method="GET"):
    host, port = admin[len("http://"):].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        h = {"Authorization": "Bearer " + token} if token is not None else {}
        c.request(method, path, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_token_required_except_health(start_edgecache, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    assert admin_get(admin, "/health")[0] == 200
    for path in ("/stats", "/metrics", "/objects", "/backends", "/object?url=http://x/"):
        assert admin_get(admin, path)[0] == 401, path
        assert admin_get(admin, path, token="wrong")[0] == 401, path
        assert admin_get(admin, path, token=TOKEN[:-1])[0] == 401, path
        assert admin_get(admin, path, token=TOKEN + "x")[0] == 401, path
    assert admin_get(admin, "/purge?url=http://example.test/", method="POST")[0] == 401
    assert admin_get(admin, "/purge?url=http://example.test/&tag=x", token=TOKEN,
                     method="POST")[0] == 400
    assert admin_get(admin, "/purge", token=TOKEN, method="POST")[0] == 400
    assert admin_get(admin, "/purge?url=http://example.test/", token=TOKEN)[0] == 405
    assert admin_get(admin, "/nope", token=TOKEN)[0] == 404
    st, body = admin_get(admin, "/stats", token=TOKEN)
    assert st == 200 and b'"requests"' in body
    wait_for(lambda: "GET /stats from 127.0.0.1: wrong token: 401" in ec.stderr_text(), 5,
             "the refused call's log line")
    assert "GET /stats from 127.0.0.1: no token: 401" in ec.stderr_text()


def test_cachectl_messages_for_bad_token_and_unreachable(start_edgecache, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    p = run_cachectl(admin, None, "stats", check=False)
    assert p.returncode == 1
    assert "refused the call without a token (401)" in p.stderr
    bad = tmp_path / "bad.token"
    bad.write_text("nope\n")
    p = run_cachectl(admin, bad, "stats", check=False)
    assert p.returncode == 1 and "refused the token (401)" in p.stderr
    # the token from the environment
    p = run_cachectl(admin, None, "stats", env={"EDGECACHE_ADMIN_TOKEN": TOKEN})
    assert "hit ratio" in p.stdout
    p = run_cachectl("127.0.0.1:%d" % closed_port(), tok, "stats", check=False)
    assert p.returncode == 1 and "cannot reach the admin API" in p.stderr
    p = run_cachectl(admin, tok, "stats", "extra", check=False)
    assert p.returncode == 2


def test_non_loopback_admin_without_token_is_refused(tmp_path):
    env = dict(os.environ)
    env.pop("EDGECACHE_ADMIN_TOKEN", None)
    p = subprocess.run([str(daemon_binary()), "-l", "127.0.0.1:0", "-o", "http://127.0.0.1:9",
                        "--admin", "0.0.0.0:0", "--check"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert p.returncode != 0
    assert "refusing an admin listener on 0.0.0.0:0 without a token" in p.stderr


def test_unix_socket_admin(start_edgecache, tmp_path):
    sock = tmp_path / "admin.sock"
    tokf = tmp_path / "t"
    tokf.write_text(TOKEN)
    ec = start_edgecache("--admin", str(sock), "--admin-token-file", str(tokf), admin_off=False)
    wait_for(lambda: sock.exists(), 5, "the admin socket")
    p = run_cachectl("unix:" + str(sock), tokf, "stats")
    assert "memory tier" in p.stdout
    p = run_cachectl(str(sock), None, "stats", check=False)
    assert p.returncode == 1 and "401" in p.stderr
    ec.stop()
    assert not sock.exists(), "the socket is removed at exit"


def raw(admin, data):
    import socket
    host, port = admin[len("http://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def test_bad_requests_get_4xx_and_the_api_keeps_serving(start_edgecache, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    auth = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
    assert raw(admin, b"GET /stats HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n").startswith(
        b"HTTP/1.1 400 ")
    assert raw(admin, b"GET /stats HTTP/1.1\nHost: a\n\n").startswith(b"HTTP/1.1 400 ")
    assert raw(admin, b"POST /ban HTTP/1.1\r\nHost: a\r\n" + auth +
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").startswith(
        b"HTTP/1.1 411 ")
    assert raw(admin, b"POST /ban HTTP/1.1\r\nHost: a\r\n" + auth +
               b"Content-Length: 9999999\r\n\r\n").startswith(b"HTTP/1.1 413 ")
    r = raw(admin, b"POST /ban HTTP/1.1\r\nHost: a\r\n" + auth +
            b"Content-Length: 27\r\n\r\n{\"expr\": \"req.url ~ ^/zz\"}\n")
    assert r.startswith(b"HTTP/1.1 200 ") and b'"purged": 0' in r, r
    # JSON escapes, \uXXXX included, are decoded: the ban lists "^/\u00e9t\u00e9"
    body = b'{"expr": "req.url ~ ^/\\u00e9t\\u00e9"}'
    r = raw(admin, b"POST /ban HTTP/1.1\r\nHost: a\r\n" + auth +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert r.startswith(b"HTTP/1.1 200 ") and "^/été".encode() in r, r
    r = raw(admin, b"POST /ban HTTP/1.1\r\nHost: a\r\n" + auth + b"Content-Length: 2\r\n\r\n{}")
    assert r.startswith(b"HTTP/1.1 400 "), r
    assert "admin: bad request from 127.0.0.1" in ec.stderr_text()
    assert admin_get(admin, "/health")[0] == 200


def test_stop_with_an_admin_connection_open(start_edgecache, tmp_path):
    import socket
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    host, port = admin[len("http://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"GET /stats HTTP/1.1\r\nHost: a\r\n")  # a head never finished
    assert admin_get(admin, "/health")[0] == 200
    assert ec.stop() == 0
    s.close()


def test_token_reloaded_on_sighup(start_edgecache, tmp_path):
    """SIGHUP reads the token file again: the new token works at once and the old
    one gets 401; an emptied file is refused with a log line and the token stays."""
    import signal
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    assert admin_get(admin, "/stats", token=TOKEN)[0] == 200
    tok.write_text("rotated-token-2\n")
    ec.signal(signal.SIGHUP)
    wait_for(lambda: admin_get(admin, "/stats", token="rotated-token-2")[0] == 200, 10,
             "the rotated token to be accepted")
    assert admin_get(admin, "/stats", token=TOKEN)[0] == 401
    assert "admin: token replaced" in ec.stderr_text()

    tok.write_text("\n")
    ec.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the admin token" in ec.stderr_text(), 10, "the refusal's log line")
    assert "empty" in ec.stderr_text()
    assert admin_get(admin, "/stats", token="rotated-token-2")[0] == 200
    assert admin_get(admin, "/stats")[0] == 401
