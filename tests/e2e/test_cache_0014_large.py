# test_cache_0014_large — large objects: a 2 MiB cacheable body (with a length or
# chunked) is stored and served intact from the cache; cache.max_object_size
# passes larger responses (Cache-Status detail=too-large when the length is
# known up front); Cache-Status "stored" is true when it says so.

import hashlib

import pytest

from e2elib import curl, pattern_sha256, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_not_stored,
    assert_stored_miss,
    cache_status,
    origin_count,
)

MIB = 1 << 20


def sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.mark.parametrize("chunked", [0, 1], ids=["length", "chunked"])
def test_2mib_object_is_stored_and_served_intact(shared, chunked):
    origin, edgecache = shared
    path = "/big%d" % chunked
    n = 2 * MIB
    tgt = target(path, cc="max-age=60", size=n, chunked=chunked, chunk=100000)
    r = edgecache.get(tgt, timeout=30)
    assert r.status == 200 and len(r.body) == n and sha(r.body) == pattern_sha256(n)
    assert_stored_miss(r)
    for _ in range(2):
        r = edgecache.get(tgt, timeout=30)
        assert_hit(r)
        assert r.header("content-length") == str(n)
        assert len(r.body) == n and sha(r.body) == pattern_sha256(n)
    assert origin_count(origin, path) == 1


def test_2mib_hit_with_curl(shared, tmp_path):
    origin, edgecache = shared
    n = 2 * MIB + 12345
    tgt = target("/bigc", cc="max-age=60", size=n)
    for _ in range(3):
        res = curl(edgecache.base_url + tgt, output=tmp_path / "b", write_out="%{http_code} %{size_download}")
        assert res.rc == 0 and res.out == "200 %d" % n, res
        assert sha(res.body()) == pattern_sha256(n)
    assert origin_count(origin, "/bigc") == 1


def test_max_object_size(origin, start_edgecache):
    ec = start_edgecache("-p", "cache.max_object_size=1M")
    big = target("/mo-big", cc="max-age=60", size=2 * MIB)
    for _ in range(2):
        r = ec.get(big, timeout=30)
        assert r.status == 200 and sha(r.body) == pattern_sha256(2 * MIB)
        assert_not_stored(r, "too-large")
    assert origin_count(origin, "/mo-big") == 2

    # the length is learnt only while streaming: passed as well
    bigc = target("/mo-bigc", cc="max-age=60", size=2 * MIB, chunked=1, chunk=65536)
    for _ in range(2):
        r = ec.get(bigc, timeout=30)
        assert r.status == 200 and sha(r.body) == pattern_sha256(2 * MIB)
        assert "hit" not in cache_status(r)
    assert origin_count(origin, "/mo-bigc") == 2

    # one byte over the limit: passed, and said so up front
    over = target("/mo-over", cc="max-age=60", size=MIB + 1)
    for _ in range(2):
        assert_not_stored(ec.get(over, timeout=30), "too-large")
    assert origin_count(origin, "/mo-over") == 2
    # well under the limit: stored
    under = target("/mo-under", cc="max-age=60", size=MIB // 2)
    assert_stored_miss(ec.get(under, timeout=30))
    r = ec.get(under, timeout=30)
    assert_hit(r)
    assert sha(r.body) == pattern_sha256(MIB // 2)
    assert origin_count(origin, "/mo-under") == 1


@pytest.mark.parametrize(
    "args,size",
    [(("-p", "cache.max_object_size=1M"), MIB), (("-m", "8M"), 2 * MIB)],
    ids=["body-at-max_object_size", "over-10%-of-memory"],
)
def test_stored_means_stored(origin, start_edgecache, args, size):
    # RFC 9211 §2.6: "stored" says the cache stored the response; if it says so,
    # the next request is a hit; if it cannot store it, it says why (too-large)
    ec = start_edgecache(*args)
    tgt = target("/sms", cc="max-age=60", size=size)
    r = ec.get(tgt, timeout=30)
    assert r.status == 200 and sha(r.body) == pattern_sha256(size)
    cs = cache_status(r)
    if cs.get("stored"):
        r2 = ec.get(tgt, timeout=30)
        assert "hit" in cache_status(r2), "Cache-Status said %r, then the next request was %r" % (
            r.header("cache-status"), r2.header("cache-status"))
        assert origin_count(origin, "/sms") == 1
    else:
        assert cs.get("detail") == "too-large", cs
