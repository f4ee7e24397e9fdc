# test_admin_0003_purge — purge by URL (every variant), by prefix and by tag
# (Surrogate-Key and Cache-Tag) through cachectl, in the memory tier and the disk
# tier, and after a restart (objects only on disk); each purge reports how many
# objects it affected, and the next request goes to the origin.

import time

from test_admin_0000_support import cachectl_json, key_url, run_cachectl, start_admin
from test_cache_0000_support import cache_status, origin_count


def fill(ec, path, **params):
    r = ec.get(path + "?" + "&".join("%s=%s" % kv for kv in params.items()))
    assert r.status == 200
    assert cache_status(ec.get(path + "?" + "&".join("%s=%s" % kv for kv in params.items()))).get("hit")


def wait_disk(admin, tok, n):
    deadline = time.time() + 5
    while cachectl_json(admin, tok, "stats")["disk"]["objects"] != n:
        assert time.time() < deadline, "disk tier never held %d objects" % n
        time.sleep(0.05)


def test_purge_url_prefix_tag_memory_and_disk(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk")
    cc = {"cc": "max-age=600"}
    fill(ec, "/u/one", **cc)
    fill(ec, "/img/a", **cc)
    fill(ec, "/img/b", **cc)
    fill(ec, "/t/x", hdr="Surrogate-Key:red%20blue", **cc)
    fill(ec, "/t/y", hdr="Cache-Tag:blue,green", **cc)
    fill(ec, "/t/z", hdr="Cache-Tag:green", **cc)
    # two variants of one URL
    for lang in ("en", "fr"):
        r = ec.get("/v?cc=max-age=600&hdr=Vary:Accept-Language", headers={"Accept-Language": lang})
        assert r.status == 200
    wait_disk(admin, tok, 8)

    p = run_cachectl(admin, tok, "purge", key_url("/u/one", cc="max-age=600"))
    assert "1 object purged (memory 1, disk 1)" in p.stdout
    assert cachectl_json(admin, tok, "purge", key_url("/u/one", cc="max-age=600"))["purged"] == 0
    assert cachectl_json(admin, tok, "purge", key_url("/v", cc="max-age=600", hdr="Vary:Accept-Language"))["purged"] == 2
    j = cachectl_json(admin, tok, "purge", "--prefix", "http://example.test/img/")
    assert j == {"purged": 2, "memory": 2, "disk": 2, "soft": False}
    j = cachectl_json(admin, tok, "purge", "--tag", "blue")
    assert j["purged"] == 2 and j["memory"] == 2 and j["disk"] == 2
    j = cachectl_json(admin, tok, "purge", "--tag", "green")
    assert j["purged"] == 1, "only /t/z is left with green"

    for path in ("/u/one", "/img/a", "/img/b", "/t/x", "/t/y", "/t/z"):
        before = origin_count(origin, path)
        r = ec.get(path + "?cc=max-age=600" + {"/t/x": "&hdr=Surrogate-Key:red%20blue",
                                                 "/t/y": "&hdr=Cache-Tag:blue,green",
                                                 "/t/z": "&hdr=Cache-Tag:green"}.get(path, ""))
        assert cache_status(r).get("fwd") == "uri-miss", path
        assert origin_count(origin, path) == before + 1, path
    assert run_cachectl(admin, tok, "purge", "not-a-url", check=False).returncode == 1
    assert run_cachectl(admin, tok, "purge", check=False).returncode == 2


def test_purge_after_restart_hits_the_disk_tier(start_edgecache, origin, tmp_path):
    disk = tmp_path / "disk"
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=disk)
    fill(ec, "/r/a", cc="max-age=600", hdr="Surrogate-Key:rt")
    fill(ec, "/r/b", cc="max-age=600", hdr="Surrogate-Key:rt")
    fill(ec, "/r/c", cc="max-age=600")
    fill(ec, "/q/d", cc="max-age=600")
    wait_disk(admin, tok, 4)
    ec.stop()
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=disk)
    st = cachectl_json(admin, tok, "stats")
    assert st["memory"]["objects"] == 0 and st["disk"]["objects"] == 4
    j = cachectl_json(admin, tok, "purge", "--tag", "rt")
    assert j == {"purged": 2, "memory": 0, "disk": 2, "soft": False}
    j = cachectl_json(admin, tok, "purge", "--prefix", "http://example.test/r/")
    assert j["purged"] == 1 and j["disk"] == 1
    j = cachectl_json(admin, tok, "purge", key_url("/q/d", cc="max-age=600"))
    assert j["purged"] == 1 and j["disk"] == 1
    assert cachectl_json(admin, tok, "stats")["disk"]["objects"] == 0
    before = origin_count(origin, "/r/a")
    r = ec.get("/r/a?cc=max-age=600&hdr=Surrogate-Key:rt")
    assert cache_status(r).get("fwd") == "uri-miss"
    assert origin_count(origin, "/r/a") == before + 1
