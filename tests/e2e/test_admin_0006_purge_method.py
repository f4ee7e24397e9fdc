# test_admin_0006_purge_method — PURGE on the proxy listener (the Varnish/Fastly
# convention): allowed from the purge_allow ranges only. From 127.0.0.1 (in
# 127.0.0.1/32) it purges every variant of the URL and answers {"purged": N};
# from 127.0.0.2 it is refused with 405 and the object stays; with no ranges
# configured it is refused from everywhere. A PURGE never reaches the origin.

import json
import socket

from e2elib import build_request
from test_admin_0000_support import start_admin
from test_cache_0000_support import cache_status, origin_count


def purge_from(ec, source, tgt, headers=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((source, 0))
    s.connect((ec.host, ec.port))
    s.sendall(build_request("PURGE", tgt, headers=headers, version="HTTP/1.1") .replace(
        b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_purge_allowed_and_refused_by_address(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk",
                                 purge_allow="127.0.0.1/32, ::1")
    tgt = "/pm?cc=max-age=600"
    assert cache_status(ec.get(tgt)).get("stored")
    n = origin_count(origin, "/pm")
    st, body = purge_from(ec, "127.0.0.2", tgt)
    assert st == 405
    assert cache_status(ec.get(tgt)).get("hit"), "a refused PURGE leaves the object"
    st, body = purge_from(ec, "127.0.0.1", tgt)
    assert st == 200 and json.loads(body) == {"purged": 1}
    st, body = purge_from(ec, "127.0.0.1", tgt)
    assert st == 200 and json.loads(body) == {"purged": 0}
    assert origin_count(origin, "/pm") == n, "PURGE is never forwarded"
    assert cache_status(ec.get(tgt)).get("fwd") == "uri-miss"
    assert origin_count(origin, "/pm") == n + 1
    assert "PURGE /pm?cc=max-age=600 from 127.0.0.2: not in purge_allow: 405" in ec.stderr_text()


def test_soft_purge_header(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, purge_allow="127.0.0.0/8")
    tgt = "/ps?cc=max-age=600&etag=%22p%22"
    assert cache_status(ec.get(tgt)).get("stored")
    st, body = purge_from(ec, "127.0.0.2", tgt, headers={"Soft-Purge": "1"})
    assert st == 200 and json.loads(body) == {"purged": 1}
    cs = cache_status(ec.get(tgt))
    assert cs.get("fwd") == "stale" and cs.get("fwd-status") == 304, cs


def test_purge_refused_without_ranges(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    tgt = "/pn?cc=max-age=600"
    assert cache_status(ec.get(tgt)).get("stored")
    assert purge_from(ec, "127.0.0.1", tgt)[0] == 405
    assert cache_status(ec.get(tgt)).get("hit")


def test_bad_purge_allow_is_a_config_error(start_edgecache, tmp_path):
    import subprocess
    from e2elib import daemon_binary
    p = subprocess.run([str(daemon_binary()), "-o", "http://127.0.0.1:9", "--admin", "off",
                        "-p", "purge_allow=127.0.0.1/40", "--check"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    assert "purge_allow: invalid address range '127.0.0.1/40'" in p.stderr
