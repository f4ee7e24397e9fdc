# test_disk_0003_map_full — a disk tier far smaller than what is stored
# through it (-d DIR:2M, 8 MiB of objects from concurrent clients): every
# response is complete and correct, the tier evicts (low watermarks) or, with
# the high watermark at 100 %, runs into MDB_MAP_FULL and evicts and retries —
# never an error for a client — and what it holds after a restart is served
# byte for byte.

import threading

from e2elib import pattern_bytes, target
from test_cache_0000_support import cache_status

OBJ = 64 * 1024
NOBJ = 128


def tgt(i):
    return target("/mf/o%d" % i, size=OBJ + i, shift=i, cc="max-age=3600")


def load(ec):
    errors = []

    def client(k):
        try:
            with ec.client(timeout=10) as c:
                for rnd in range(2):
                    for i in range(k, NOBJ, 2):
                        c.request("GET", tgt(i))
                        r = c.read_final()
                        if r.status != 200 or r.body != pattern_bytes(OBJ + i, i):
                            errors.append((i, r.status, r.header("cache-status")))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def survivors_are_exact(ec):
    """Reads every object, newest first (misses stored now evict older survivors)."""
    hits = 0
    for i in reversed(range(NOBJ)):
        r = ec.get(tgt(i))
        assert r.status == 200 and r.body == pattern_bytes(OBJ + i, i), i
        hits += bool(cache_status(r).get("hit"))
    return hits


def test_small_disk_evicts_by_watermark(origin, start_edgecache, tmp_path):
    disk = "%s:2M" % (tmp_path / "disk")
    # low watermarks keep the live data well under the map: eviction, not a full map
    ec = start_edgecache("-d", disk, "-m", "1M", "-p", "disk_high_watermark=60",
                         "-p", "disk_low_watermark=40", workers=2)
    load(ec)
    assert ec.alive()
    assert "over the high watermark" in ec.stderr_text()
    assert ec.stop() == 0
    ec2 = start_edgecache("-d", disk, "-m", "1M", workers=1)
    assert 0 < survivors_are_exact(ec2) < NOBJ


def test_map_full_keeps_serving(origin, start_edgecache, tmp_path):
    disk = "%s:2M" % (tmp_path / "disk")
    ec = start_edgecache("-d", disk, "-m", "1M", "-p", "disk_high_watermark=100",
                         "-p", "disk_low_watermark=95", workers=2)
    load(ec)
    assert ec.alive()
    assert "map full (MDB_MAP_FULL" in ec.stderr_text()
    assert ec.stop() == 0
    ec2 = start_edgecache("-d", disk, "-m", "1M", workers=1)
    assert 0 < survivors_are_exact(ec2) < NOBJ
