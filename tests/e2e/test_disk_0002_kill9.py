# test_disk_0002_kill9 — a crash in the middle of filling: `kill -9` while
# clients are storing many objects (several chunks each, concurrently), then a
# new daemon on the same directory. LMDB commits are atomic and an object's
# record, chunks and indexes are written in one transaction, so every object
# is either served whole from disk (Cache-Status hit, byte for byte) or is a
# miss fetched again — never a partial or mixed body. Some objects must have
# survived (the writer commits every few milliseconds).

import os
import signal
import threading
import time

from e2elib import Edgecache, pattern_bytes, target
from test_cache_0000_support import cache_status

N = 240


def size_of(i):
    return [1000, 40000, 70000, 150000][i % 4] + i


def tgt(i):
    return target("/k9/o%d" % i, size=size_of(i), shift=i, cc="max-age=3600")


def test_kill9_mid_fill_leaves_only_whole_objects(origin, start_edgecache, tmp_path):
    disk = "%s:128M" % (tmp_path / "disk")
    work = tmp_path / "killed"
    args = ["-l", "127.0.0.1:0", "-o", origin.base_url, "-w", "2", "--admin", "off", "-d", disk]
    victim = Edgecache(args, work)  # not the fixture's: this one is meant to die
    stop = threading.Event()
    done = []

    def filler(k):
        i = k
        while i < N and not stop.is_set():
            try:
                r = victim.get(tgt(i), timeout=5)
                if r.status == 200:
                    done.append(i)
            except Exception:
                pass  # the daemon died under us
            i += 4

    threads = [threading.Thread(target=filler, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(done) < N // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    stop.set()
    for t in threads:
        t.join()
    assert len(done) >= N // 3, "the fill did not get going (%d objects)" % len(done)
    assert len(done) < N, "the fill finished before the kill: nothing was in flight"

    origin.reset()
    ec = start_edgecache("-d", disk, workers=2)
    hits = 0
    with ec.client() as c:
        for i in range(N):
            c.request("GET", tgt(i))
            r = c.read_final()
            assert r.status == 200, (i, r)
            assert len(r.body) == size_of(i), (i, r.header("cache-status"))
            assert r.body == pattern_bytes(size_of(i), i), "object %d damaged (%s)" % (
                i, r.header("cache-status"))
            hits += bool(cache_status(r).get("hit"))
    assert hits > 0, "nothing survived the crash"
    assert origin.stats()["requests"] == N - hits
    assert ec.alive()
