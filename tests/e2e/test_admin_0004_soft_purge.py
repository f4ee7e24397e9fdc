# test_admin_0004_soft_purge — purge --soft marks objects stale instead of
# removing them: with stale-while-revalidate the next request is answered stale
# at once while one background request revalidates it; without it the next
# request revalidates (a conditional request, 304) before it is answered; the
# object stays listed, marked stale, until then.

from e2elib import wait_for
from test_admin_0000_support import cachectl_json, key_url, run_cachectl, start_admin
from test_cache_0000_support import cache_status, origin_count, origin_entries


def test_soft_purge_then_stale_while_revalidate(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk")
    tgt = "/s?cc=max-age=600,stale-while-revalidate=60&etag=%22v1%22"
    url = key_url("/s", cc="max-age=600,stale-while-revalidate=60", etag="\"v1\"")
    assert cache_status(ec.get(tgt)).get("stored")
    assert cache_status(ec.get(tgt)).get("hit")
    assert origin_count(origin, "/s") == 1

    p = run_cachectl(admin, tok, "purge", "--soft", url)
    assert "1 object marked stale" in p.stdout
    objs = cachectl_json(admin, tok, "ls")["objects"]
    assert [o["stale"] for o in objs if o["key"] == url] == [True]

    r = ec.get(tgt)
    cs = cache_status(r)
    assert r.status == 200 and cs.get("fwd") == "stale" and cs.get("detail") == "swr", cs
    assert len(r.body) > 0
    # one background revalidation, conditional on the stored validator
    wait_for(lambda: origin_count(origin, "/s") == 2, 5, "the background revalidation")
    last = origin_entries(origin, "/s")[-1]
    assert any(n.lower() == "if-none-match" for n, v in last["headers"])
    wait_for(lambda: cache_status(ec.get(tgt)).get("hit"), 5, "a fresh hit after the refresh")
    assert origin_count(origin, "/s") == 2


def test_soft_purge_without_swr_revalidates_first(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    tgt = "/n?cc=max-age=600&etag=%22n1%22"
    assert cache_status(ec.get(tgt)).get("stored")
    j = cachectl_json(admin, tok, "purge", "--soft", key_url("/n", cc="max-age=600", etag="\"n1\""))
    assert j["purged"] == 1 and j["soft"] is True
    r = ec.get(tgt)
    cs = cache_status(r)
    assert cs.get("fwd") == "stale" and cs.get("fwd-status") == 304, cs
    assert origin_count(origin, "/n") == 2
    assert cache_status(ec.get(tgt)).get("hit")
    assert origin_count(origin, "/n") == 2
