# test_cache_0015_capacity — a memory tier much smaller than the working set
# (-m 1M, 100 KiB objects): every response stays complete and correct, hits
# happen, objects are evicted (a second pass over more objects than fit goes to
# the origin again), and concurrent clients do not disturb each other. Only
# robust facts are asserted: which objects survive is the eviction policy's
# business (see the unit tests and tools/ec-sim).

import hashlib
import threading

from e2elib import pattern_bytes, target
from test_cache_0000_support import cache_status, origin_count

OBJ = 100 * 1024
NOBJ = 30  # 3 MiB of bodies for a 1 MiB tier


def tgt(i):
    return target("/cap%d" % i, cc="max-age=60", size=OBJ, shift=i)


def fetch(ec, i, c=None):
    """GETs object i (on client c, or a fresh connection) and checks it completely."""
    if c is None:
        r = ec.get(tgt(i))
    else:
        c.request("GET", tgt(i))
        r = c.read_final()
    assert r.status == 200 and r.header("content-length") == str(OBJ), r
    assert r.body == pattern_bytes(OBJ, i), "object %d damaged (%s)" % (i, r.header("cache-status"))
    return r


def total(origin):
    return sum(origin_count(origin, "/cap%d" % i) for i in range(NOBJ))


def test_small_tier_evicts_and_stays_correct(origin, start_edgecache):
    ec = start_edgecache("-m", "1M")
    hits = 0
    with ec.client() as c:
        for i in range(NOBJ):
            fetch(ec, i, c)
            hits += "hit" in cache_status(fetch(ec, i, c))
        assert total(origin) >= NOBJ
        for i in range(NOBJ):
            hits += "hit" in cache_status(fetch(ec, i, c))
    assert hits > 0, "an object requested twice in a row was never a hit"
    t = total(origin)
    assert t > NOBJ, "3 MiB of objects cannot all stay in a 1 MiB tier (origin saw %d)" % t
    assert t < 3 * NOBJ, "nothing was ever served from the cache (origin saw %d)" % t
    assert ec.alive()


def test_concurrent_clients_on_a_small_tier(origin, start_edgecache):
    ec = start_edgecache("-m", "1M", workers=2)
    errors = []

    def worker(k):
        try:
            with ec.client(timeout=10) as c:
                for n in range(3 * NOBJ):
                    fetch(ec, (n * (k + 3) + k) % NOBJ, c)
        except BaseException as e:  # reported below, with the worker's number
            errors.append("client %d: %r" % (k, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, "\n".join(errors)
    assert total(origin) <= 4 * 3 * NOBJ
    # every object still comes back whole after the churn
    for i in range(NOBJ):
        fetch(ec, i)
    h = hashlib.sha256(fetch(ec, 0).body).hexdigest()
    assert h == hashlib.sha256(pattern_bytes(OBJ, 0)).hexdigest()
    assert ec.alive()
