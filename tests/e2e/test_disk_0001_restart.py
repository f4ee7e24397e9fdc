# test_disk_0001_restart — the disk tier keeps the cache warm across a
# restart: fill objects of many shapes (empty, one byte, inline-sized,
# several 32 KiB chunks, chunked from the origin, Vary variants, tagged),
# SIGTERM (a clean drain: the writer's queue is applied and synced), start a
# new daemon on the same directory, and every object is served from disk —
# byte for byte, Cache-Status `hit`, access log `hit-disk` — with no request
# reaching the origin. Also: a purge by invalidation reaches the disk tier (a
# POST's invalidated URL is not brought back from disk after a restart).

import re

from e2elib import pattern_bytes, target, wait_for
from test_cache_0000_support import cache_status

SIZES = [0, 1, 700, 1500, 2500, 32744, 32745, 100000, 300000]


def objects():
    """(path, query params, request headers, body size, shift) of every object."""
    out = []
    for i, n in enumerate(SIZES):
        out.append(("/d1/len%d" % i, dict(size=n, shift=i, cc="max-age=3600"), {}, n, i))
    for i, n in enumerate([5000, 70000]):
        out.append(("/d1/chunked%d" % i, dict(size=n, shift=i, chunked=1, cc="max-age=3600"), {}, n, i))
    for enc in ("gzip", "br"):
        out.append(("/d1/vary", dict(size=3000, cc="max-age=3600", hdr="Vary:Accept-Encoding"),
                    {"Accept-Encoding": enc}, 3000, 0))
    out.append(("/d1/tagged", dict(size=900, cc="max-age=3600", hdr=["Surrogate-Key:a b", "Cache-Tag:c"]), {}, 900, 0))
    return out


def get(ec, path, params, hdrs):
    return ec.get(target(path, **params), headers=hdrs)


def check(r, n, shift):
    assert r.status == 200, r
    assert r.body == pattern_bytes(n, shift), "body damaged (%s)" % r.header("cache-status")


def test_restart_serves_everything_from_disk(origin, start_edgecache, tmp_path):
    disk = "%s:64M" % (tmp_path / "disk")
    alog = tmp_path / "access.log"
    ec = start_edgecache("-d", disk, "-m", "64M", workers=2)
    for path, params, hdrs, n, shift in objects():
        r = get(ec, path, params, hdrs)
        check(r, n, shift)
        assert cache_status(r).get("stored"), r
    # the memory tier serves them now
    for path, params, hdrs, n, shift in objects():
        r = get(ec, path, params, hdrs)
        check(r, n, shift)
        assert cache_status(r).get("hit"), r
    assert ec.stop() == 0
    assert re.search(r"disk: \S+: closed: %d objects" % len(objects()), ec.stderr_text())

    origin.reset()
    ec2 = start_edgecache("-d", disk, "-m", "64M", workers=2, access_log=alog)
    assert re.search(r"disk: \S+: %d objects, [0-9.]+ MiB used of 64.0 MiB" % len(objects()),
                     ec2.stderr_text())
    for path, params, hdrs, n, shift in objects():
        r = get(ec2, path, params, hdrs)
        check(r, n, shift)
        assert cache_status(r).get("hit"), (path, r)
        assert r.header("age") is not None
    assert origin.stats()["requests"] == 0
    # a vary variant not stored is a miss, not another variant's body
    r = get(ec2, "/d1/vary", dict(size=3000, cc="max-age=3600", hdr="Vary:Accept-Encoding"),
            {"Accept-Encoding": "zstd"})
    check(r, 3000, 0)
    assert cache_status(r).get("fwd") == "vary-miss"
    assert ec2.stop() == 0
    tokens = [line.split()[8] for line in alog.read_text().splitlines() if " /d1/" in line]
    assert tokens.count("hit-disk") == len(objects()), tokens


def test_invalidation_reaches_disk(origin, start_edgecache, tmp_path):
    disk = "%s:64M" % (tmp_path / "disk")
    ec = start_edgecache("-d", disk, workers=1)
    t = target("/d1/inval", size=500, cc="max-age=3600")
    assert cache_status(ec.get(t)).get("stored")
    assert cache_status(ec.get(t)).get("hit")
    # an unsafe method's 2xx invalidates the target URI (RFC 9111 4.4)
    r = ec.get(t, method="POST", body=b"x")
    assert r.status == 200
    assert ec.stop() == 0
    origin.reset()
    ec2 = start_edgecache("-d", disk, workers=1)
    r = ec2.get(t)
    assert r.status == 200 and not cache_status(r).get("hit"), r
    assert origin.stats()["requests"] == 1
