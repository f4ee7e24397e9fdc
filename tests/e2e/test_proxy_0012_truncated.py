# test_proxy_0012_truncated — an origin body that ends early (the origin closes
# before the announced length, or stalls past origin.between_bytes_timeout)
# reaches the client as a broken response: the connection closes before the end
# of the announced body or without the last chunk. Never a complete-looking one.

import time

import pytest

from e2elib import IncompleteResponse, curl, partial_body, pattern_bytes, target


def assert_broken(ec, tgt, timeout=10):
    with ec.client(timeout=timeout) as c:
        c.request("GET", tgt)
        try:
            r = c.read_final()
        except IncompleteResponse as e:
            return e
        raise AssertionError("a truncated origin body arrived as a complete response: %r" % r)


def test_truncated_content_length(origin, edgecache):
    e = assert_broken(edgecache, target("/t", size=100000, truncate=50000))
    assert partial_body(e.partial) == pattern_bytes(50000), "the bytes before the cut are passed on"


def test_truncated_chunked(origin, edgecache):
    assert_broken(edgecache, target("/t", size=100000, chunked=1, chunk=10000, truncate=55555))


def test_truncated_small_body(origin, edgecache):
    # the whole (short) partial body arrives in one read with the origin's FIN
    assert_broken(edgecache, target("/t", size=1000, truncate=10))


def test_truncated_curl_reports_error(origin, edgecache, tmp_path):
    res = curl(edgecache.url("/t", size=1000000, truncate=300000), output=tmp_path / "b")
    assert res.rc != 0, "curl took a truncated body for a complete one: %r" % res


def test_truncated_before_body_is_502_or_broken(origin, edgecache):
    # the origin sends the head and closes: either the daemon had not sent its
    # head yet and answers 502, or the client sees a broken response
    with edgecache.client() as c:
        c.request("GET", target("/t", size=1000, truncate=0))
        try:
            r = c.read_final()
        except IncompleteResponse:
            return
        assert r.status == 502, "an empty truncated body arrived as %r" % r


def test_between_bytes_timeout(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.between_bytes_timeout=500ms")
    t0 = time.monotonic()
    e = assert_broken(ec, target("/stall", size=100000, body_delay=4))
    took = time.monotonic() - t0
    assert took < 3, "between-bytes timeout of 500ms cut the body after %.2fs" % took
    assert partial_body(e.partial) == pattern_bytes(50000)


def test_between_bytes_within_timeout_is_fine(origin, start_edgecache):
    ec = start_edgecache("-p", "origin.between_bytes_timeout=2s")
    r = ec.get(target("/stall", size=100000, body_delay=0.5))
    assert r.body == pattern_bytes(100000)


@pytest.mark.parametrize("chunked", [0, 1])
def test_next_request_after_truncation(origin, edgecache, chunked):
    assert_broken(edgecache, target("/t", size=100000, truncate=5000, chunked=chunked))
    r = edgecache.get(target("/ok", size=100))
    assert r.status == 200 and r.body == pattern_bytes(100)
