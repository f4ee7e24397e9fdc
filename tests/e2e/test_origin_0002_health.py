# test_origin_0002_health — passive and active health: a killed backend costs
# no client error (the connect failure is retried elsewhere) and is marked down
# after fail_max failures, after which it gets no more connection attempts; it
# is probed back after fail_timeout once it listens again; active checks (http
# status, tcp connect) take a backend out and bring it back without any client
# traffic. Every state change is logged.

import re
import time

from e2elib import wait_for
from test_origin_0000_support import backends_config, count_by_origin, get_many, origins  # noqa: F401


def refusals(ec, o):
    return ec.stderr_text().count("origin %s: connect: Connection refused" % o.addr)


def test_killed_backend_no_client_errors(origins, start_edgecache):
    a, b, c = origins(3)
    cfg = backends_config([o.base_url for o in (a, b, c)], "fail_max: 2\nfail_timeout: 60s")
    ec = start_edgecache(config_text=cfg, origin_url=False)
    assert get_many(ec, "/warm?cc=no-store", 9) == [200] * 9
    assert count_by_origin([a, b, c], "/warm") == [3, 3, 3]
    b.kill()
    statuses = get_many(ec, "/after?cc=no-store", 60)
    assert statuses == [200] * 60, statuses
    # b was tried at most fail_max times, then marked down once
    assert refusals(ec, b) <= 2
    assert ec.stderr_text().count("origin %s: marked down" % b.addr) == 1
    ca, cc = count_by_origin([a, c], "/after")
    assert ca + cc == 60 and abs(ca - cc) <= 2, (ca, cc)


def test_killed_backend_recovers(origins, start_edgecache):
    a, b = origins(2)
    cfg = backends_config([a.base_url, b.base_url], "fail_max: 1\nfail_timeout: 1s")
    ec = start_edgecache(config_text=cfg, origin_url=False)
    b.kill()
    assert get_many(ec, "/down?cc=no-store", 10) == [200] * 10
    assert "origin %s: marked down" % b.addr in ec.stderr_text()
    b.restart()
    time.sleep(1.2)
    # the next pick of b is a probe; its success brings b up, then the split is even again
    assert get_many(ec, "/back?cc=no-store", 20) == [200] * 20
    assert "origin %s: marked up (probe request succeeded)" % b.addr in ec.stderr_text()
    ca, cb = count_by_origin([a, b], "/back")
    assert cb >= 8, (ca, cb)


def test_active_http_check_down_and_up(origins, start_edgecache):
    a, b = origins(2)
    # the health endpoint answers 503 to its 100th to 103rd requests (counted per
    # origin): b is taken there at once by 98 requests made before the daemon
    # starts, a would need 99 checks (15 s)
    hc = "/hc?status@100=503&status@104=200"
    for _ in range(98):
        assert b.get_status(hc) == 200
    extra = 'health_check: http\nhealth_path: "%s"\nhealth_interval: 150ms\nhealth_timeout: 1s\nhealth_rise: 2\nhealth_fall: 2' % hc
    cfg = backends_config([a.base_url, b.base_url], extra)
    ec = start_edgecache(config_text=cfg, origin_url=False)
    down = "origin %s: marked down (health check failed: status 503, expected 200)" % b.addr
    wait_for(lambda: down in ec.stderr_text(), 10, "b marked down by the health check")
    assert "origin %s: marked down" % a.addr not in ec.stderr_text()
    assert get_many(ec, "/while-down?cc=no-store", 10) == [200] * 10
    assert count_by_origin([a, b], "/while-down") == [10, 0]
    up = "origin %s: marked up (health check passed: status 200)" % b.addr
    wait_for(lambda: up in ec.stderr_text(), 10, "b marked up by the health check")
    assert get_many(ec, "/after-up?cc=no-store", 10) == [200] * 10
    assert count_by_origin([a, b], "/after-up") == [5, 5]
    # the checks sent their own Host and never reached the client paths
    checks = [e for e in b.log() if e["target"].startswith("/hc")]
    assert len(checks) >= 8
    assert all(e["method"] == "GET" for e in checks)


def test_active_tcp_check_without_traffic(origins, start_edgecache):
    a, b = origins(2)
    extra = "health_check: tcp\nhealth_interval: 100ms\nhealth_fall: 2\nhealth_rise: 1"
    cfg = backends_config([a.base_url, b.base_url], extra)
    ec = start_edgecache(config_text=cfg, origin_url=False)
    b.kill()
    pat = "origin %s: marked down (health check failed: connect: Connection refused)" % b.addr
    wait_for(lambda: pat in ec.stderr_text(), 10, "b marked down by the tcp check")
    # no client request ever went to b, and none failed
    assert get_many(ec, "/t?cc=no-store", 6) == [200] * 6
    assert refusals(ec, b) == 0
    b.restart()
    wait_for(lambda: "origin %s: marked up" % b.addr in ec.stderr_text(), 10, "b up again")
    assert get_many(ec, "/t2?cc=no-store", 6) == [200] * 6
    assert count_by_origin([a, b], "/t2") == [3, 3]


def test_health_survives_a_reload(origins, start_edgecache):
    a, b = origins(2)
    cfg = backends_config([a.base_url, b.base_url], "fail_max: 1\nfail_timeout: 60s")
    ec = start_edgecache(config_text=cfg, origin_url=False)
    b.kill()
    assert get_many(ec, "/x?cc=no-store", 4) == [200] * 4
    assert refusals(ec, b) == 1
    # same backends, another setting: b stays down across the reload
    ec.reload(cfg + "    retries: 3\n")
    wait_for(lambda: "configuration reloaded" in ec.stderr_text(), 10, "the reload")
    assert get_many(ec, "/y?cc=no-store", 6) == [200] * 6
    assert refusals(ec, b) == 1, "a reload forgot that b is down"
    assert count_by_origin([a], "/y") == [6]
