# test_proxy_0013_access_log — --access-log FILE writes one line per request:
#   TIME CLIENT "METHOD TARGET PROTO" STATUS BYTES DURATION CACHE BACKEND ORIGIN_TIME REASON
# (lines may be buffered up to 1 s); errors name their reason; SIGUSR1 reopens
# the file; "-" logs to stdout.

import datetime
import os
import signal
import time

from e2elib import access_lines, closed_port, parse_access_line, target


def test_one_line_per_request(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log)
    before = datetime.datetime.now(datetime.timezone.utc)
    with ec.client() as c:
        c.request("GET", "/a?size=10")
        assert c.read_final().status == 200
        c.request("POST", target("/b", status=404, size=7), body=b"xyz")
        assert c.read_final().status == 404
        c.request("HEAD", target("/c", size=100))
        assert c.read_final(method="HEAD").status == 200
    lines = access_lines(log, 3)
    assert len(lines) == 3, lines
    a, b, h = (parse_access_line(l) for l in lines)

    assert (a["method"], a["target"], a["proto"], a["status"], a["bytes"]) == ("GET", "/a?size=10", "HTTP/1.1", 200, 10)
    assert (b["method"], b["target"], b["status"], b["bytes"]) == ("POST", target("/b", status=404, size=7), 404, 7)
    assert (h["method"], h["status"], h["bytes"]) == ("HEAD", 200, 0)
    for d in (a, b, h):
        assert d["client"] == "127.0.0.1"
        assert d["backend"] == origin.addr
        # nothing here is storable: a GET miss, a POST passed, a HEAD miss
        assert d["cache"] in ("miss", "pass"), d
        assert d["reason"] == "-"
        assert d["origin_time"] != "-"
        assert float(d["origin_time"]) <= float(d["duration"]) + 1e-6
        t = datetime.datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        assert before - datetime.timedelta(seconds=2) <= t <= datetime.datetime.now(datetime.timezone.utc)


def test_duration_reflects_origin_delay(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log)
    assert ec.get(target("/slow", delay=0.5)).status == 200
    d = parse_access_line(access_lines(log, 1)[0])
    assert 0.45 <= float(d["duration"]) < 3
    assert 0.45 <= float(d["origin_time"]) <= float(d["duration"]) + 1e-6


def test_502_line_names_reason(start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log, origin_url="http://127.0.0.1:%d" % closed_port())
    r = ec.get("/x")
    assert r.status == 502
    d = parse_access_line(access_lines(log, 1)[0])
    assert (d["method"], d["target"], d["status"]) == ("GET", "/x", 502)
    assert d["reason"] == "origin-connect-failed"
    assert d["bytes"] == len(r.body)


def test_504_line_names_reason(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache("-p", "origin.first_byte_timeout=300ms", access_log=log)
    assert ec.get(target("/slow", delay=2)).status == 504
    d = parse_access_line(access_lines(log, 1)[0])
    assert d["status"] == 504
    assert d["reason"] == "origin-timeout"
    assert d["backend"] == origin.addr


def test_400_line(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log)
    with ec.client() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        assert c.read_final().status == 400
    d = parse_access_line(access_lines(log, 1)[0])
    assert d["status"] == 400
    assert d["reason"] == "bad-request"
    assert d["backend"] == "-" and d["origin_time"] == "-"


def test_sigusr1_reopens(origin, start_edgecache, tmp_path):
    log = tmp_path / "access.log"
    ec = start_edgecache(access_log=log)
    assert ec.get("/before").status == 200
    access_lines(log, 1)
    rotated = tmp_path / "access.log.1"
    os.rename(log, rotated)
    ec.signal(signal.SIGUSR1)
    time.sleep(0.3)
    assert ec.get("/after").status == 200
    new = access_lines(log, 1)
    assert [parse_access_line(l)["target"] for l in new] == ["/after"]
    old = rotated.read_text().splitlines()
    assert [parse_access_line(l)["target"] for l in old] == ["/before"]
    assert ec.alive()


def test_access_log_to_stdout(origin, start_edgecache):
    ec = start_edgecache(access_log="-")
    assert ec.get("/out").status == 200
    lines = access_lines(ec.stdout_path, 1)
    assert parse_access_line(lines[-1])["target"] == "/out"
