# test_origin_0006_h2c — a group with `protocol: h2c` speaks HTTP/2 with prior
# knowledge to its backends (nghttpd from Debian's nghttp2-server, serving a
# directory): many concurrent client requests share one origin connection as
# streams, bodies arrive intact, the response fields come through, POST
# bodies go up, and a backend that is not there gives a 502. `protocol: h2`
# does the same over TLS (ALPN h2, the certificate verified against the
# test's CA); a protocol that does not fit the backends' scheme is a config
# error.

import os
import shutil
import socket
import subprocess
import time

import pytest

from e2elib import assert_daemon_error, closed_port, die_with_parent, pattern_bytes, wait_for
from test_miss_0000_support import burst, shot
from test_origin_0000_support import free_port
from test_origin_0004_tls import pki  # noqa: F401

NGHTTPD = shutil.which("nghttpd") or "/usr/sbin/nghttpd"
pytestmark = pytest.mark.skipif(not os.path.exists(NGHTTPD), reason="nghttpd (nghttp2-server) missing")


def start_nghttpd(tmp_path, tls_pair=None):
    docroot = tmp_path / "htdocs"
    docroot.mkdir(exist_ok=True)
    (docroot / "big.bin").write_bytes(pattern_bytes(300000))
    (docroot / "small.txt").write_bytes(b"hello over h2\n")
    port = free_port()
    log = open(tmp_path / ("nghttpd-%d.log" % port), "wb")
    args = [NGHTTPD, "-v", "--echo-upload", "-a", "127.0.0.1", "-d", str(docroot), str(port)]
    if tls_pair:
        args += [str(tls_pair[1]), str(tls_pair[0])]  # KEY CERT
    else:
        args.insert(1, "--no-tls")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    p.log_file = log

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(up, 10, "nghttpd listening")
    p.port = port
    p.log_path = tmp_path / ("nghttpd-%d.log" % port)
    return p


def stop_nghttpd(p):
    p.terminate()
    p.wait(5)
    p.log_file.close()


@pytest.fixture
def nghttpd(tmp_path):
    p = start_nghttpd(tmp_path)
    yield p
    stop_nghttpd(p)


@pytest.fixture
def nghttpd_tls(tmp_path, pki):
    p = start_nghttpd(tmp_path, (pki / "server.pem", pki / "server.key"))
    yield p
    stop_nghttpd(p)


def sessions(ngh):
    """HTTP/2 sessions (connections) nghttpd saw, from its -v log: '[id=N]'."""
    time.sleep(0.2)
    text = ngh.log_path.read_text(errors="replace")
    ids = set()
    for part in text.split("[id=")[1:]:
        ids.add(part.split("]")[0])
    return ids


def cfg(port, extra=""):
    return ("groups:\n  - name: h2\n    protocol: h2c\n    backends: [127.0.0.1:%d]\n%s" % (port, extra))


def test_many_requests_one_connection(nghttpd, start_edgecache):
    ec = start_edgecache(config_text=cfg(nghttpd.port), origin_url=False)
    # the first session is the test's own readiness probe
    before = sessions(nghttpd)
    shots = [shot("/big.bin?i=%d" % i) for i in range(40)]
    burst(ec.port, shots, timeout=20)
    full = pattern_bytes(300000)
    for s in shots:
        r = s.response
        assert r is not None and r.status == 200, s
        assert r.body == full
        assert r.header("content-length") == "300000"
    new = sessions(nghttpd) - before
    assert len(new) == 1, "40 concurrent requests used %d connections" % len(new)


def test_small_head_post_and_missing(nghttpd, start_edgecache):
    ec = start_edgecache(config_text=cfg(nghttpd.port), origin_url=False)
    r = ec.get("/small.txt")
    assert r.status == 200 and r.body == b"hello over h2\n"
    r = ec.get("/small.txt", method="HEAD")
    assert r.status == 200 and r.body == b"" and r.header("content-length") == "14"
    r = ec.get("/nothing-here")
    assert r.status == 404
    body = b"x" * 100000
    r = ec.get("/small.txt", method="POST", body=body)
    assert r.status == 200 and r.body == body, (r.status, len(r.body))


def test_no_backend_is_502(start_edgecache):
    ec = start_edgecache(config_text=cfg(closed_port(), "    fail_max: 0\n"), origin_url=False)
    assert_daemon_error(ec.get("/x"), 502, closes=False)


def test_h2_over_tls(nghttpd_tls, start_edgecache, pki):
    c = ("groups:\n  - name: h2\n    protocol: h2\n    tls_ca: %s\n    backends: [https://localhost:%d]\n"
         % (pki / "ca.pem", nghttpd_tls.port))
    ec = start_edgecache(config_text=c, origin_url=False)
    before = sessions(nghttpd_tls)
    shots = [shot("/big.bin?t=%d" % i) for i in range(20)]
    burst(ec.port, shots, timeout=20)
    for s in shots:
        assert s.response is not None and s.response.status == 200, s
        assert s.response.body == pattern_bytes(300000)
    assert len(sessions(nghttpd_tls) - before) == 1
    # without the CA: verification fails, a 502 with the reason in the log
    c2 = "groups:\n  - name: h2\n    protocol: h2\n    backends: [https://localhost:%d]\n" % nghttpd_tls.port
    ec2 = start_edgecache(config_text=c2, origin_url=False)
    assert_daemon_error(ec2.get("/small.txt"), 502, closes=False)
    assert "TLS with localhost: certificate verify failed" in ec2.stderr_text()


def test_protocol_scheme_mismatch_is_a_config_error(tmp_path):
    from e2elib import daemon_binary

    for proto, url, want in (("h2", "http://127.0.0.1:1", "h2 needs https backends"),
                             ("h2c", "https://127.0.0.1:1", "use h2 for https backends")):
        f = tmp_path / ("%s.yaml" % proto)
        f.write_text("groups:\n  - name: g\n    protocol: %s\n    backends: [%s]\n" % (proto, url))
        p = subprocess.run([str(daemon_binary()), "-c", str(f), "--check"], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode != 0
        assert "%s.yaml:3: groups[0].protocol: " % proto in p.stderr and want in p.stderr, p.stderr


def health_cfg(port, path, proto="h2c", scheme="", extra=""):
    # generous timeout and fall: a slow check on a loaded machine must not
    # pass for a failed one
    return ("groups:\n  - name: h2\n    protocol: %s\n    backends: [%s127.0.0.1:%d]\n"
            "    health_check: http\n    health_path: \"%s\"\n    health_interval: 150ms\n"
            "    health_timeout: 3s\n    health_fall: 2\n    health_rise: 1\n%s"
            % (proto, scheme, port, path, extra))


def checks_seen(ngh):
    """Health-check streams nghttpd logged (its -v log shows request headers)."""
    return ngh.log_path.read_text(errors="replace").count("user-agent: edgecache-health")


def test_http_health_check_speaks_h2(nghttpd, start_edgecache):
    """An http health check of an h2c group is an HTTP/2 exchange (an HTTP/1.1
    request would fail against a prior-knowledge backend and mark it down): the
    backend stays up while its health path answers 200, and a 404 marks it down
    with the status in the log."""
    ec = start_edgecache(config_text=health_cfg(nghttpd.port, "/small.txt"), origin_url=False)
    wait_for(lambda: checks_seen(nghttpd) >= 3, 10, "three HTTP/2 health checks at nghttpd")
    assert "marked down" not in ec.stderr_text()
    assert ec.get("/small.txt").status == 200

    ec2 = start_edgecache(config_text=health_cfg(nghttpd.port, "/nothing-here"), origin_url=False)
    pat = "origin 127.0.0.1:%d: marked down (health check failed: status 404, expected 200)" % nghttpd.port
    wait_for(lambda: pat in ec2.stderr_text(), 10, "the backend marked down by its 404")


def test_http_health_check_h2_over_tls(nghttpd_tls, start_edgecache, pki):
    c = ("groups:\n  - name: h2\n    protocol: h2\n    tls_ca: %s\n    backends: [https://localhost:%d]\n"
         "    health_check: http\n    health_path: /small.txt\n    health_interval: 150ms\n"
         "    health_timeout: 3s\n    health_fall: 2\n" % (pki / "ca.pem", nghttpd_tls.port))
    ec = start_edgecache(config_text=c, origin_url=False)
    wait_for(lambda: checks_seen(nghttpd_tls) >= 3, 10, "three HTTP/2 health checks over TLS")
    assert "marked down" not in ec.stderr_text()
    assert ec.get("/small.txt").status == 200
