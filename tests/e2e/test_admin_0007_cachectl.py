# test_admin_0007_cachectl — cachectl's views against a running daemon (stats,
# ls with prefix/sort/limit, inspect, backends, top) as tables and as JSON, its
# --help and exit statuses, and --db: reading a stopped daemon's disk tier
# read-only (ls, inspect, stats), refused while the daemon holds it.

import re
import time

from test_admin_0000_support import cachectl_json, key_url, run_cachectl, start_admin
from test_cache_0000_support import cache_status


def populate(ec):
    for path, size, hits in (("/c/small", 100, 1), ("/c/big", 300000, 0), ("/c/hot", 2000, 5),
                             ("/other", 10, 0)):
        tgt = "%s?cc=max-age=600&size=%d&hdr=Surrogate-Key:k1%%20k2" % (path, size)
        assert cache_status(ec.get(tgt)).get("stored")
        for _ in range(hits):
            assert cache_status(ec.get(tgt)).get("hit")


def keyof(path, size):
    return key_url(path, cc="max-age=600", size=size, hdr="Surrogate-Key:k1%20k2").replace(
        "%2520", "%20")


def test_views_and_json(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk")
    populate(ec)
    out = run_cachectl(admin, tok, "stats").stdout
    assert re.search(r"hit ratio\s+60\.0%", out), out
    assert re.search(r"memory tier\s+4 objects", out), out
    ls = run_cachectl(admin, tok, "ls").stdout.splitlines()
    assert ls[0].split() == ["KEY", "TIER", "VAR", "SIZE", "AGE", "TTL", "HITS"]
    assert len(ls) == 5 and all("\033" not in l for l in ls), "no colour off a terminal"
    assert "292.97 KiB" not in ls[1] and "293.0 KiB" in "\n".join(ls)
    ls = run_cachectl(admin, tok, "ls", "--prefix", "http://example.test/c/", "--sort", "hits").stdout.splitlines()
    assert len(ls) == 4 and "/c/hot" in ls[1] and ls[1].split()[-1] == "5"
    ls = run_cachectl(admin, tok, "ls", "--sort", "size", "--limit", "1").stdout.splitlines()
    assert "/c/big" in ls[1] and "1 more" not in ls[1] and "3 more" in ls[2]
    j = cachectl_json(admin, tok, "ls", "--prefix", "http://example.test/c/")
    assert [o["key"].split("?")[0] for o in j["objects"]] == [
        "http://example.test/c/big", "http://example.test/c/hot", "http://example.test/c/small"]
    assert all(o["tier"] in ("memory", "memory+disk") and 590 <= o["ttl"] <= 600 for o in j["objects"])

    url = j["objects"][1]["key"]
    out = run_cachectl(admin, tok, "inspect", url).stdout
    assert url in out and re.search(r"hits\s+5", out) and "k1 k2" in out
    assert "Surrogate-Key: k1 k2" in out or "Surrogate-Key:\x1b" in out or "Surrogate-Key:" in out
    ij = cachectl_json(admin, tok, "inspect", url)
    mem = [v for v in ij["variants"] if v["tier"] == "memory"][0]
    assert mem["status"] == 200 and mem["size"] == 2000 and mem["hits"] == 5
    assert mem["tags"] == ["k1", "k2"] and mem["lifetime"] == 600
    assert ["Cache-Control", "max-age=600"] in mem["headers"]
    p = run_cachectl(admin, tok, "inspect", "http://example.test/nope", check=False)
    assert p.returncode == 1 and "not cached" in p.stderr

    out = run_cachectl(admin, tok, "backends").stdout.splitlines()
    assert out[0].split()[:6] == ["GROUP", "BACKEND", "WEIGHT", "BACKUP", "HEALTH", "REQS"]
    row = out[1].split()
    assert row[0] == "default" and row[1] == "127.0.0.1:%d" % origin.port and row[4] == "up"
    assert int(row[5]) == 4, "four misses went to the origin"
    bj = cachectl_json(admin, tok, "backends")
    b = bj["groups"][0]["backends"][0]
    assert set(b) >= {"name", "weight", "backup", "health", "requests", "errors", "inflight",
                      "pool_idle", "pool_new", "pool_reused", "latency_ms"}
    assert b["requests"] == 4 and b["pool_new"] + b["pool_reused"] == 4

    top = run_cachectl(admin, tok, "top", "--count", "1", "--rows", "2").stdout
    assert "hit ratio" in top and "/c/hot" in top.splitlines()[3]


def test_help_and_usage(tmp_path):
    p = run_cachectl(None, None, "--help")
    assert "purge [--soft] URL..." in p.stdout and "Exit status" in p.stdout
    for cmd in ("stats", "purge", "ban", "inspect", "ls", "top", "backends"):
        p = run_cachectl(None, None, cmd, "--help")
        assert p.stdout.startswith("usage: cachectl " + cmd), cmd
    assert run_cachectl(None, None, "frobnicate", check=False).returncode == 2
    assert run_cachectl(None, None, check=False).returncode == 2
    assert run_cachectl(None, None, "ls", "--sort", "colour", check=False).returncode == 2
    p = run_cachectl(None, None, "--db", str(tmp_path), "purge", "http://x/", check=False)
    assert p.returncode == 2 and "--db works with ls, inspect and stats" in p.stderr


def test_db_reads_a_stopped_daemons_disk_tier(start_edgecache, origin, tmp_path):
    disk = tmp_path / "disk"
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=disk)
    populate(ec)
    deadline = time.time() + 5
    while cachectl_json(admin, tok, "stats")["disk"]["objects"] != 4:
        assert time.time() < deadline
        time.sleep(0.05)
    p = run_cachectl(None, None, "--db", str(disk), "ls", check=False)
    assert p.returncode == 1 and "in use by another process" in p.stderr
    ec.stop()
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime) for f in disk.iterdir())

    ls = run_cachectl(None, None, "--db", str(disk), "ls").stdout.splitlines()
    assert len(ls) == 5 and all(" disk " in l for l in ls[1:])
    j = cachectl_json(None, None, "--db", str(disk), "ls", "--prefix", "http://example.test/c/")
    assert [o["key"].split("?")[0] for o in j["objects"]] == [
        "http://example.test/c/big", "http://example.test/c/hot", "http://example.test/c/small"]
    big = [o for o in j["objects"] if "/c/big" in o["key"]][0]
    assert big["size"] == 300000 and big["variants"] == 1
    st = cachectl_json(None, None, "--db", str(disk), "stats")
    assert st["objects"] == 4 and st["keys"] == 4 and st["body_bytes"] == 300000 + 2000 + 100 + 10
    assert st["map_size"] == 64 << 20, "the size the daemon gave the map"
    out = run_cachectl(None, None, "--db", str(disk), "stats").stdout
    assert re.search(r"objects\s+4 variants of 4 keys", out)
    ij = cachectl_json(None, None, "--db", str(disk), "inspect", big["key"])
    v = ij["variants"][0]
    assert v["tier"] == "disk" and v["status"] == 200 and v["size"] == 300000
    assert ["Cache-Control", "max-age=600"] in v["headers"]
    out = run_cachectl(None, None, "--db", str(disk), "inspect", big["key"]).stdout
    assert "Surrogate-Key:" in out
    p = run_cachectl(None, None, "--db", str(disk), "inspect", "http://example.test/none", check=False)
    assert p.returncode == 1 and "not in" in p.stderr
    p = run_cachectl(None, None, "--db", str(tmp_path / "missing"), "ls", check=False)
    assert p.returncode == 1
    # read-only: nothing in the directory changed
    assert sorted((f.name, f.stat().st_size, f.stat().st_mtime) for f in disk.iterdir()) == files


def test_objects_pages_with_a_cursor(start_edgecache, origin, tmp_path):
    import http.client
    import json
    import urllib.parse
    from test_admin_0000_support import TOKEN
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    for i in range(5):
        assert cache_status(ec.get("/pg/%d?cc=max-age=600" % i)).get("stored")
    host, port = admin[len("http://"):].rsplit(":", 1)

    def page(cursor):
        q = "/objects?prefix=http://example.test/pg/&limit=2"
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor, safe="")
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("GET", q, headers={"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        assert r.status == 200
        return body

    keys, cursor = [], None
    for _ in range(3):
        body = page(cursor)
        keys += [o["key"] for o in body["objects"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert keys == ["http://example.test/pg/%d?cc=max-age=600" % i for i in range(5)]
    assert cursor is None
