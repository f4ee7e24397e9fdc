# test_origin_0006_h2c — a group with `protocol: h2c` speaks HTTP/2 with prior
# knowledge to its backends (nghttpd from Debian's nghttp2-server, serving a
# directory): many concurrent client requests share one origin connection as
# streams, bodies arrive intact, the response fields come through, POST
# bodies go up, and a backend that is not there gives a 502.

import os
import shutil
import socket
import subprocess
import time

import pytest

from e2elib import assert_daemon_error, closed_port, die_with_parent, pattern_bytes, wait_for
from test_miss_0000_support import burst, shot
from test_origin_0000_support import free_port

NGHTTPD = shutil.which("nghttpd") or "/usr/sbin/nghttpd"
pytestmark = pytest.mark.skipif(not os.path.exists(NGHTTPD), reason="nghttpd (nghttp2-server) missing")


@pytest.fixture
def nghttpd(tmp_path):
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "big.bin").write_bytes(pattern_bytes(300000))
    (docroot / "small.txt").write_bytes(b"hello over h2\n")
    port = free_port()
    log = open(tmp_path / "nghttpd.log", "wb")
    p = subprocess.Popen([NGHTTPD, "--no-tls", "-v", "--echo-upload", "-a", "127.0.0.1", "-d", str(docroot),
                          str(port)], stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(up, 10, "nghttpd listening")
    p.port = port
    p.log_path = tmp_path / "nghttpd.log"
    yield p
    p.terminate()
    p.wait(5)
    log.close()


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
