# test_cache_0006_ranges — byte ranges served from a complete stored response
# (RFC 9110 §14): single ranges as 206 with Content-Range, several as
# multipart/byteranges (§14.6) with a Content-Length that matches the body, 416
# with "bytes */len" when nothing is satisfiable, If-Range choosing between a 206
# and the whole 200, other units ignored. A Range request on a miss is answered
# correctly while the whole response is fetched and stored.

import re
import time

import pytest

from e2elib import pattern_bytes, req_header, target
from test_cache_0000_support import (  # noqa: F401 (shared, shared_module: fixtures)
    shared,
    shared_module,
    assert_hit,
    assert_stored_miss,
    cache_status,
    http_date,
    origin_count,
    origin_entries,
)

BODY = pattern_bytes(100)
LM = http_date(time.time() - 3600)


def obj(path):
    """The stored object of these checks: 100 bytes, ETag "r1", Last-Modified an hour ago."""
    return target(path, cc="max-age=60", etag='"r1"', lm=LM, size=100)


def rng(v):
    return [("Range", v)]


def parse_multipart(resp):
    """Parses a multipart/byteranges body strictly: [(headers dict, data)]."""
    ctype = resp.header("content-type") or ""
    m = re.match(r'^multipart/byteranges;\s*boundary=("?)([^";]+)\1\s*$', ctype, re.I)
    assert m, "Content-Type of a multi-range 206: %r" % ctype
    delim = b"--" + m.group(2).encode()
    body = resp.body
    pos = 0
    if body.startswith(b"\r\n"):
        pos = 2  # an optional CRLF before the first delimiter (RFC 2046 preamble)
    parts = []
    assert body[pos:pos + len(delim)] == delim, "body does not start with the delimiter: %r" % body[:80]
    pos += len(delim)
    while True:
        assert body[pos:pos + 2] == b"\r\n", "delimiter not followed by CRLF at %d: %r" % (pos, body[pos:pos + 40])
        pos += 2
        end = body.index(b"\r\n\r\n", pos)
        hdrs = {}
        for line in body[pos:end].split(b"\r\n"):
            k, sep, v = line.decode("latin-1").partition(":")
            assert sep, "bad part header line %r" % line
            hdrs[k.strip().lower()] = v.strip()
        pos = end + 4
        cr = re.match(r"^bytes (\d+)-(\d+)/(\d+)$", hdrs.get("content-range", ""))
        assert cr, "part without a valid Content-Range: %r" % hdrs
        n = int(cr.group(2)) - int(cr.group(1)) + 1
        parts.append((hdrs, body[pos:pos + n]))
        pos += n
        assert body[pos:pos + 2 + len(delim)] == b"\r\n" + delim, "part data not followed by CRLF delimiter"
        pos += 2 + len(delim)
        if body[pos:pos + 2] == b"--":
            pos += 2
            break
    assert body[pos:] in (b"", b"\r\n"), "bytes after the close delimiter: %r" % body[pos:]
    return parts


SINGLE = [
    ("bytes=0-9", 0, 9),
    ("bytes=-5", 95, 99),
    ("bytes=95-", 95, 99),
    ("bytes=90-200", 90, 99),
    ("bytes=0-0", 0, 0),
    ("bytes=99-99", 99, 99),
    ("bytes=-500", 0, 99),
    ("BYTES=10-19", 10, 19),
    ("bytes=500-600, 10-19", 10, 19),  # unsatisfiable specs are dropped
]


def test_single_ranges_from_cache(shared):
    origin, edgecache = shared
    tgt = obj("/rg1")
    assert_stored_miss(edgecache.get(tgt))
    for spec, a, b in SINGLE:
        r = edgecache.get(tgt, headers=rng(spec))
        assert r.status == 206, (spec, r)
        assert_hit(r, 206)
        assert r.header("content-range") == "bytes %d-%d/100" % (a, b), (spec, r)
        assert r.body == BODY[a:b + 1], spec
        assert r.header("content-length") == str(b - a + 1)
        assert r.header("content-type") == "application/octet-stream"
        assert r.header("etag") == '"r1"'
    assert origin_count(origin, "/rg1") == 1


def test_multiple_ranges_from_cache(shared):
    origin, edgecache = shared
    tgt = obj("/rg2")
    edgecache.get(tgt)
    for spec, want in [
        ("bytes=0-9,20-29", [(0, 9), (20, 29)]),
        ("bytes=-5, 0-0, 50-59", [(95, 99), (0, 0), (50, 59)]),
        ("bytes=0-9,10-19,40-", [(0, 19), (40, 99)]),  # adjacent ranges may coalesce
    ]:
        r = edgecache.get(tgt, headers=rng(spec))
        assert r.status == 206, (spec, r)
        assert_hit(r, 206)
        assert r.header("content-range") is None, "a multipart 206 has no top-level Content-Range"
        assert r.header("content-length") == str(len(r.body)), "Content-Length matches the body"
        parts = parse_multipart(r)
        got = []
        for hdrs, data in parts:
            a, b = map(int, re.match(r"bytes (\d+)-(\d+)/100", hdrs["content-range"]).groups())
            assert hdrs.get("content-type") == "application/octet-stream", hdrs
            assert data == BODY[a:b + 1], (spec, hdrs)
            got.append((a, b))
        # every requested byte is covered, in order (coalescing allowed)
        covered = [i for a, b in got for i in range(a, b + 1)]
        wanted = [i for a, b in want for i in range(a, b + 1)]
        assert covered == wanted, (spec, got)
    assert origin_count(origin, "/rg2") == 1


def test_unsatisfiable_range(shared):
    origin, edgecache = shared
    tgt = obj("/rg3")
    edgecache.get(tgt)
    for spec in ("bytes=500-600", "bytes=100-", "bytes=-0"):
        r = edgecache.get(tgt, headers=rng(spec))
        assert r.status == 416, (spec, r)
        assert r.header("content-range") == "bytes */100", r
        assert "hit" in cache_status(r)
    assert origin_count(origin, "/rg3") == 1


def test_ignored_ranges_give_the_whole_200(shared):
    origin, edgecache = shared
    tgt = obj("/rg4")
    edgecache.get(tgt)
    for spec in ("items=0-9", "bytes=9-0", "bytes=x-y"):
        r = edgecache.get(tgt, headers=rng(spec))
        assert r.status == 200 and r.body == BODY, (spec, r)
    # a repeated Range field is ignored (RFC 9110 §14.2)
    r = edgecache.get(tgt, headers=[("Range", "bytes=0-1"), ("Range", "bytes=3-4")])
    assert r.status in (200, 206)
    if r.status == 200:
        assert r.body == BODY
    assert origin_count(origin, "/rg4") == 1


@pytest.mark.parametrize(
    "path,if_range,partial",
    [("/ri1", '"r1"', True), ("/ri2", '"r0"', False), ("/ri3", 'W/"r1"', False),
     ("/ri4", LM, True), ("/ri5", http_date(time.time() - 7200), False)],
    ids=["etag-match", "etag-other", "weak", "date-match", "date-other"],
)
def test_if_range(shared, path, if_range, partial):
    origin, edgecache = shared
    tgt = obj(path)
    edgecache.get(tgt)
    r = edgecache.get(tgt, headers=[("Range", "bytes=0-9"), ("If-Range", if_range)])
    assert_hit(r, 206 if partial else 200)
    if partial:
        assert r.header("content-range") == "bytes 0-9/100" and r.body == BODY[:10]
    else:
        assert r.body == BODY and r.header("content-range") is None
    assert origin_count(origin, path) == 1


def test_range_on_a_miss(shared):
    origin, edgecache = shared
    tgt = target("/rm", cc="max-age=60", size=100000)
    full = pattern_bytes(100000)
    r = edgecache.get(tgt, headers=rng("bytes=50000-50009"))
    assert r.status == 206, r
    assert r.header("content-range") == "bytes 50000-50009/100000"
    assert r.body == full[50000:50010]
    assert cache_status(r).get("stored") is True
    ent = origin_entries(origin, "/rm")
    assert len(ent) == 1 and req_header(ent[0], "range") == [], \
        "the cache fetches the whole response to store it"
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == full
    r = edgecache.get(tgt, headers=rng("bytes=-3"))
    assert_hit(r, 206)
    assert r.body == full[-3:]
    assert origin_count(origin, "/rm") == 1


def test_unsatisfiable_range_on_a_miss(shared):
    origin, edgecache = shared
    tgt = target("/ru", cc="max-age=60", size=100)
    r = edgecache.get(tgt, headers=rng("bytes=500-600"))
    assert r.status == 416 and r.header("content-range") == "bytes */100", r
    r = edgecache.get(tgt)
    assert_hit(r)
    assert r.body == BODY
    assert origin_count(origin, "/ru") == 1


def test_multiple_ranges_on_a_miss(shared):
    origin, edgecache = shared
    # RFC 9110 §14.2 lets the cache answer the whole 200; a 206 must be right
    tgt = target("/rmm", cc="max-age=60", size=100)
    r = edgecache.get(tgt, headers=rng("bytes=0-9,20-29"))
    if r.status == 200:
        assert r.body == BODY
    else:
        assert r.status == 206
        assert [d for _, d in parse_multipart(r)] == [BODY[0:10], BODY[20:30]]
    r = edgecache.get(tgt, headers=rng("bytes=0-9,20-29"))
    assert_hit(r, 206)
    assert [d for _, d in parse_multipart(r)] == [BODY[0:10], BODY[20:30]]
    assert origin_count(origin, "/rmm") == 1
