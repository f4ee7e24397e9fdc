# test_origin_0003_backup_retries — backups take over when every primary is
# down; with nothing left the client gets a 502; a connect failure (nothing
# sent) is retried on another backend up to origin.retries times, for any
# method, request body included; a request whose bytes reached an origin is
# never retried when it is not idempotent.

import http.client

from e2elib import assert_daemon_error, closed_port
from test_origin_0000_support import backends_config, count_by_origin, get_many, origins  # noqa: F401


def test_backup_used_when_primaries_down(origins, start_edgecache):
    a, b, bk = origins(3)
    cfg = backends_config([a.base_url, b.base_url, bk.base_url], "fail_max: 1\nfail_timeout: 60s", backups=(2,))
    ec = start_edgecache(config_text=cfg, origin_url=False)
    assert get_many(ec, "/p?cc=no-store", 10) == [200] * 10
    assert count_by_origin([a, b, bk], "/p") == [5, 5, 0]
    a.kill()
    b.kill()
    assert get_many(ec, "/bk?cc=no-store", 10) == [200] * 10
    assert count_by_origin([bk], "/bk") == [10]


def test_all_down_no_backup_is_502(origins, start_edgecache):
    a, b = origins(2)
    cfg = backends_config([a.base_url, b.base_url], "fail_max: 1")
    ec = start_edgecache(config_text=cfg, origin_url=False)
    a.kill()
    b.kill()
    for i in range(4):
        r = ec.get("/gone?i=%d" % i)
        assert_daemon_error(r, 502, closes=False)


def test_retries_count(start_edgecache, origins):
    (live,) = origins(1)
    dead = "http://127.0.0.1:%d" % closed_port()
    # smooth round-robin over [dead, live] starts with dead; passive detection off
    ec = start_edgecache("-o", live.base_url, "-p", "origin.retries=0", "-p", "origin.fail_max=0", origin_url=dead)
    statuses = get_many(ec, "/r0?cc=no-store", 6)
    assert statuses == [502, 200] * 3, statuses
    ec2 = start_edgecache("-o", live.base_url, "-p", "origin.retries=1", "-p", "origin.fail_max=0", origin_url=dead)
    assert get_many(ec2, "/r1?cc=no-store", 6) == [200] * 6
    assert count_by_origin([live], "/r1") == [6]


def test_post_retried_after_connect_failure(start_edgecache, origins):
    (live,) = origins(1)
    dead = "http://127.0.0.1:%d" % closed_port()
    ec = start_edgecache("-o", live.base_url, "-p", "origin.fail_max=0", origin_url=dead)
    body = b"x" * 5000
    r = ec.get("/post?echo=1", method="POST", body=body, headers={"Content-Type": "text/plain"})
    assert r.status == 200
    log = [e for e in live.log() if e["target"].startswith("/post")]
    assert len(log) == 1 and log[0]["body_len"] == 5000


def test_non_idempotent_never_retried_after_send(origins, start_edgecache):
    a, b = origins(2)
    ec = start_edgecache("-o", b.base_url, "-p", "origin.fail_max=0", origin_url=a.base_url)
    # both reset the connection after reading the request: the bytes reached an origin
    r = ec.get("/rst-post?reset=1", method="POST", body=b"data")
    assert_daemon_error(r, 502, closes=False)
    # a POST reached exactly one origin, once
    assert sum(count_by_origin([a, b], "/rst-post")) == 1
    # a GET is idempotent: tried on the other backend too (which resets as well)
    r = ec.get("/rst-get?reset=1")
    assert_daemon_error(r, 502, closes=False)
    assert count_by_origin([a, b], "/rst-get") == [1, 1]


def test_idempotent_retried_when_connection_dies(origins, start_edgecache):
    a, b = origins(2)
    # the first request to a path resets, later ones are answered; b has seen one already
    tgt = "/die?reset=1&reset@2=0&cc=no-store"
    try:
        b.get_status(tgt)
    except (OSError, http.client.HTTPException):
        pass
    ec = start_edgecache("-o", b.base_url, "-p", "origin.fail_max=0", origin_url=a.base_url)
    r = ec.get(tgt)
    assert r.status == 200, r
    assert r.header("x-origin-seq") == "2"
    assert count_by_origin([a, b], "/die") == [1, 2]
    assert "connection lost before the response; retrying on %s" % b.addr in ec.stderr_text()
