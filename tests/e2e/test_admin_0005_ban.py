# test_admin_0005_ban — bans through cachectl: a URL regex and a header
# condition remove what they match in both tiers at once, and objects that only
# come into view later (on disk, brought back after a restart... and checked at
# lookup) are refused lazily; objects stored after the ban are not touched; a
# malformed expression is refused with the reason.

import time

from test_admin_0000_support import cachectl_json, run_cachectl, start_admin
from test_cache_0000_support import cache_status, origin_count


def wait_disk(admin, tok, n):
    deadline = time.time() + 5
    while cachectl_json(admin, tok, "stats")["disk"]["objects"] != n:
        assert time.time() < deadline
        time.sleep(0.05)


def test_ban_by_url_regex_and_header(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk")
    paths = ["/b/img/1.png?cc=max-age=600", "/b/img/2.png?cc=max-age=600",
             "/b/css/a.css?cc=max-age=600&hdr=X-Kind:style",
             "/b/css/b.css?cc=max-age=600&hdr=X-Kind:print", "/b/keep?cc=max-age=600"]
    for p in paths:
        assert cache_status(ec.get(p)).get("stored")
    wait_disk(admin, tok, 5)
    p = run_cachectl(admin, tok, "ban", 'req.url ~ "^/b/img/.*\\.png"')
    assert "2 objects removed now" in p.stdout
    j = cachectl_json(admin, tok, "ban", 'req.url ~ "^/b/css/" && obj.http.x-kind == "style"')
    assert j["purged"] == 1 and len(j["bans"]) == 2
    for p, hit in zip(paths, [False, False, False, True, True]):
        before = origin_count(origin, p.split("?")[0])
        assert bool(cache_status(ec.get(p)).get("hit")) == hit, p
        assert origin_count(origin, p.split("?")[0]) == before + (0 if hit else 1), p
    # the list: newest first, through GET /ban and `cachectl bans`
    listed = cachectl_json(admin, tok, "bans")["bans"]
    assert [b["expr"] for b in listed] == [
        'req.url ~ "^/b/css/" && obj.http.x-kind == "style"', 'req.url ~ "^/b/img/.*\\.png"']
    assert all(abs(b["time"] - time.time()) < 30 for b in listed)
    out = run_cachectl(admin, tok, "bans").stdout.splitlines()
    assert "EXPRESSION" in out[0] and len(out) == 3
    assert out[1].rstrip().endswith('obj.http.x-kind == "style"') and "s  " in out[1]
    # refetched after the ban: not banned again
    time.sleep(1.1)
    assert cache_status(ec.get(paths[0])).get("hit")
    p = run_cachectl(admin, tok, "ban", 'req.url ~ "(^/b"', check=False)
    assert p.returncode == 1 and "regex" in p.stderr
    p = run_cachectl(admin, tok, "ban", 'obj.nope == "1"', check=False)
    assert p.returncode == 1 and "unknown field" in p.stderr


def test_ban_reaches_disk_only_objects_after_restart(start_edgecache, origin, tmp_path):
    disk = tmp_path / "disk"
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=disk)
    for i in range(3):
        assert cache_status(ec.get("/d/%d?cc=max-age=600&hdr=X-Team:blue" % i)).get("stored")
    assert cache_status(ec.get("/d/9?cc=max-age=600&hdr=X-Team:red")).get("stored")
    wait_disk(admin, tok, 4)
    ec.stop()
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=disk)
    j = cachectl_json(admin, tok, "ban", "obj.http.X-Team == blue")
    assert j["purged"] == 3, j
    assert cachectl_json(admin, tok, "stats")["disk"]["objects"] == 1
    assert cache_status(ec.get("/d/0?cc=max-age=600&hdr=X-Team:blue")).get("fwd") == "uri-miss"
    assert cache_status(ec.get("/d/9?cc=max-age=600&hdr=X-Team:red")).get("hit")
