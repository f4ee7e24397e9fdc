# test_tls_0005_counters — TLS and HTTP/2 in the admin API's counters: handshakes
# (and failed ones), h2 connections and streams, abuse closes, and the same request
# and cache counters an HTTP/1.1 client moves.

import json
import socket
import urllib.request

from e2elib import curl, wait_for
from test_tls_0000_support import curl_tls, pki, start_tls  # noqa: F401
from test_tls_0003_h2_abuse import PING, RawH2, frame


def stats(admin):
    with urllib.request.urlopen(admin + "/stats", timeout=10) as r:
        return json.loads(r.read())


def test_counters(start_tls, origin):
    ec = start_tls("--admin", "127.0.0.1:0", admin_off=False, listeners=3)
    admin = [l for l in ec.listeners if l[2] == "admin"][0]
    url = "http://%s:%d" % (admin[0], admin[1])
    path = "/counted?size=100&cc=max-age%3D60"
    assert curl_tls(ec, "a.test", path).out == "200 2"  # miss
    assert curl_tls(ec, "a.test", path).out == "200 2"  # hit
    assert curl_tls(ec, "a.test", path, http="--http1.1").out == "200 1.1"  # hit, h1 over TLS
    assert curl(ec.url(path), http="--http2-prior-knowledge").code == 200  # h2c: http key, miss
    s = socket.create_connection(("127.0.0.1", ec.tls_port), timeout=5)
    s.sendall(b"not a client hello\r\n\r\n")
    try:
        s.recv(100)
    except ConnectionResetError:
        pass
    s.close()
    c = RawH2(ec.port)
    c.send(frame(PING, 0, 0, b"12345678") * 1000)
    c.frames_until_close()

    def settled():
        st = stats(url)
        k = st["counters"]
        return st if k["h2_abuse_closed"] == 1 and k["tls_handshake_errors"] == 1 else None

    st = wait_for(settled, 5, "the counters")
    k = st["counters"]
    assert k["tls_handshakes"] == 3, k
    assert k["h2_conns"] == 4, k  # two over TLS, the h2c one, the flooder
    assert k["h2_streams"] == 3, k
    assert k["client_requests"] == 4, k
    assert k["resp_2xx"] == 4, k
    assert st["requests"]["hit"] == 2 and st["requests"]["miss"] == 2, st["requests"]
