# test_cache_0000_support — helpers shared by the test_cache_* scenarios (they import
# them from here), and checks of the test-origin features those scenarios rely on
# (NAME@K per-path sequencing, X-Origin-Seq, shift=, expires=), run against the
# origin alone: if these fail, the cache scenarios' verdicts mean nothing.
#
# Conventions of the cache scenarios:
#   - the daemon's Cache-Status is parsed by cache_status() into a dict;
#   - "the origin saw N requests" is read from the origin's per-path counter
#     (origin_count), so that a hit is proven to be a hit;
#   - expiry uses max-age=1 and a sleep of a little over a second, or an Age
#     from the origin that makes a response stale on arrival;
#   - checks that need no special configuration share one origin and one daemon
#     per module (the `shared` fixture, imported by the scenario files) and use a
#     path of their own, so that the per-path origin counters stay theirs.

import email.utils
import time

import pytest

from e2elib import Client, Edgecache, Origin, pattern_bytes, target

SF_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~:/")


def _split_outside_quotes(s, sep):
    out, cur, q, esc = [], [], False, False
    for ch in s:
        if q:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
            cur.append(ch)
        elif ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _sf_value(v):
    v = v.strip()
    if v.startswith('"') and v.endswith('"') and len(v) >= 2:
        return v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if v.lstrip("-").isdigit():
        return int(v)
    if v == "?1":
        return True
    if v == "?0":
        return False
    return v


def cache_status(resp, cache="edgecache"):
    """The daemon's Cache-Status entry (RFC 9211) of a response as a dict: {"hit": True,
    "fwd": "uri-miss", "fwd-status": 304, "ttl": 57, "stored": True, "detail": "no-store"};
    parameters without a value are True, integers are ints. AssertionError when the
    response has no entry for our cache, or a malformed one."""
    members = []
    for line in resp.header_all("cache-status"):
        members += [m.strip() for m in _split_outside_quotes(line, ",") if m.strip()]
    found = None
    for m in members:
        parts = [p.strip() for p in _split_outside_quotes(m, ";")]
        name = _sf_value(parts[0])
        if name != cache:
            continue
        assert found is None, "two Cache-Status entries for %s: %r" % (cache, members)
        d = {}
        for p in parts[1:]:
            assert p, "empty Cache-Status parameter in %r" % m
            k, sep, v = p.partition("=")
            k = k.strip()
            assert k and k == k.lower(), "bad Cache-Status parameter key %r in %r" % (k, m)
            d[k] = _sf_value(v) if sep else True
        found = d
    assert found is not None, "no Cache-Status entry for %s in %r" % (cache, resp)
    return found


def assert_hit(resp, status=200):
    """A response served from the cache: hit, no fwd, a ttl, an Age."""
    cs = cache_status(resp)
    assert resp.status == status, "expected %d from cache, got %r" % (status, resp)
    assert cs.get("hit") is True, "expected a hit, Cache-Status %r" % resp.header_all("cache-status")
    assert "fwd" not in cs, "a hit has no fwd: %r" % cs
    age = resp.header("age")
    assert age is not None and age.isdigit(), "a response from cache carries Age: %r" % resp
    return cs


def assert_stored_miss(resp, fwd="uri-miss"):
    """A response fetched from the origin and stored."""
    cs = cache_status(resp)
    assert cs.get("fwd") == fwd and cs.get("stored") is True and "hit" not in cs, \
        "expected fwd=%s; stored, got %r" % (fwd, resp.header_all("cache-status"))
    return cs


def assert_not_stored(resp, detail=None, fwd="uri-miss"):
    """A response fetched from the origin and not stored (with detail= when given)."""
    cs = cache_status(resp)
    assert cs.get("fwd") == fwd and "stored" not in cs and "hit" not in cs, \
        "expected fwd=%s without stored, got %r" % (fwd, resp.header_all("cache-status"))
    if detail is not None:
        assert cs.get("detail") == detail, "expected detail=%s, got %r" % (detail, cs)
    return cs


def origin_count(origin, path):
    """How many requests the origin saw for a path (query excluded) since its last reset."""
    return origin.stats()["paths"].get(path, 0)


def origin_entries(origin, path):
    """The origin's log entries for one path, oldest first."""
    return [e for e in origin.log() if e["target"].split("?", 1)[0] == path]


def http_date(t):
    """IMF-fixdate of a POSIX time."""
    return email.utils.formatdate(t, usegmt=True)


def age_of(resp):
    return int(resp.header("age"))


# ---- one origin and one daemon per module ----------------------------------------


@pytest.fixture(scope="module")
def shared_module(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cache-shared")
    o = Origin(workdir / "origin")
    ec = None
    problems = []
    try:
        ec = Edgecache(
            ["-l", "127.0.0.1:0", "-o", o.base_url, "-w", "1", "--admin", "off"],
            workdir / "edgecache",
        )
        yield o, ec
    finally:
        if ec is not None:
            problems = ec.problems()
        o.stop()
    if problems:
        pytest.fail("shared daemon: " + "\n".join(problems), pytrace=False)


@pytest.fixture
def shared(request, shared_module):
    """(origin, edgecache) shared by the tests of one module: the daemon runs with the
    defaults (-w 1) and is checked at the end of the module as conftest.py checks its
    own (signals, exit status, sanitizer reports). Use paths no other test uses."""
    o, ec = shared_module
    assert ec.alive(), "the module's shared daemon is gone"
    request.node.__dict__.setdefault("_ec_procs", []).extend([o, ec])
    return o, ec


# ---- the test origin's sequencing features -------------------------------------


def test_origin_seq_header_counts_per_path(origin):
    with Client(origin.port) as c:
        for i in range(3):
            c.request("GET", target("/a", size=3))
            assert c.read_final().header("x-origin-seq") == str(i + 1)
        c.request("HEAD", "/b")
        assert c.read_final(method="HEAD").header("x-origin-seq") == "1"
        c.request("GET", "/a?other=1")
        assert c.read_final().header("x-origin-seq") == "4", "the counter is per path, query excluded"
    origin.reset()
    with Client(origin.port) as c:
        c.request("GET", "/a")
        assert c.read_final().header("x-origin-seq") == "1", "a reset restarts the counters"


def test_origin_param_override_from_kth_request(origin):
    tgt = target("/s", size=10, etag='"v1"', hdr=["A:1", "B:1"], **{
        "etag@2": '"v2"', "shift@3": 1, "hdr@3": "C:3", "status@4": 404})
    got = []
    with Client(origin.port) as c:
        for _ in range(4):
            c.request("GET", tgt)
            got.append(c.read_final())
    assert [r.status for r in got] == [200, 200, 200, 404]
    assert [r.header("etag") for r in got] == ['"v1"', '"v2"', '"v2"', '"v2"']
    assert [r.body for r in got[:3]] == [pattern_bytes(10), pattern_bytes(10), pattern_bytes(10, 1)]
    assert [(r.header("a"), r.header("b"), r.header("c")) for r in got] == [
        ("1", "1", None), ("1", "1", None), (None, None, "3"), (None, None, "3")]


def test_origin_override_changes_conditional_answers(origin):
    # the 304 decision uses the ETag in force for this request
    tgt = target("/c", size=10, etag='"v1"', **{"etag@2": '"v2"'})
    with Client(origin.port) as c:
        c.request("GET", tgt, headers=[("If-None-Match", '"v1"')])
        r1 = c.read_final()
        c.request("GET", tgt, headers=[("If-None-Match", '"v1"')])
        r2 = c.read_final()
    assert r1.status == 304 and r1.header("etag") == '"v1"'
    assert r2.status == 200 and r2.header("etag") == '"v2"' and r2.body == pattern_bytes(10)


def test_origin_shift_chunked_and_expires(origin):
    with Client(origin.port) as c:
        c.request("GET", target("/x", size=100, shift=5, chunked=1, chunk=7, expires=60))
        r = c.read_final()
    assert r.framing == "chunked" and r.body == pattern_bytes(100, 5)
    exp = email.utils.parsedate_to_datetime(r.header("expires")).timestamp()
    date = email.utils.parsedate_to_datetime(r.header("date")).timestamp()
    assert 59 <= exp - date <= 61


def test_cache_status_parser():
    class R:
        def __init__(self, *vals):
            self.vals = list(vals)

        def header_all(self, name):
            return self.vals

    assert cache_status(R('edgecache; fwd=stale; fwd-status=304; ttl=5; stored')) == {
        "fwd": "stale", "fwd-status": 304, "ttl": 5, "stored": True}
    assert cache_status(R('other; hit, "edgecache"; hit; ttl=-3; detail="a;b"')) == {
        "hit": True, "ttl": -3, "detail": "a;b"}
    try:
        cache_status(R("other; hit"))
    except AssertionError:
        pass
    else:
        raise AssertionError("a missing entry must fail")


def test_http_date_round_trip():
    t = int(time.time())
    assert email.utils.parsedate_to_datetime(http_date(t)).timestamp() == t
