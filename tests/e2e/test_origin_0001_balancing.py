# test_origin_0001_balancing — requests spread over a group's backends as its
# algorithm says: the -o origins split evenly (smooth round-robin, one worker:
# exactly), weights are honoured, ketama keeps a key on one backend, and a
# group routed by Host or path prefix gets only its requests, with its Host.

from e2elib import req_header
from test_origin_0000_support import backends_config, count_by_origin, get_many, origins  # noqa: F401


def test_even_split_over_o_flags(origins, start_edgecache):
    a, b = origins(2)
    ec = start_edgecache("-o", b.base_url, origin_url=a.base_url)
    statuses = get_many(ec, "/even?cc=no-store", 40)
    assert statuses == [200] * 40
    assert count_by_origin([a, b], "/even") == [20, 20]


def test_weights_honoured(origins, start_edgecache):
    a, b = origins(2)
    cfg = backends_config([a.base_url, b.base_url], weights=[1, 3])
    ec = start_edgecache(config_text=cfg, origin_url=False)
    assert get_many(ec, "/w?cc=no-store", 40) == [200] * 40
    assert count_by_origin([a, b], "/w") == [10, 30]


def test_ketama_keeps_a_key_on_one_backend(origins, start_edgecache):
    os_ = origins(3)
    cfg = backends_config([o.base_url for o in os_], "algorithm: ketama")
    ec = start_edgecache(config_text=cfg, origin_url=False)
    for k in range(12):
        for _ in range(3):
            r = ec.get("/k%d?cc=no-store" % k)
            assert r.status == 200
    for k in range(12):
        seen = [o.stats()["paths"].get("/k%d" % k, 0) for o in os_]
        assert sorted(seen) == [0, 0, 3], (k, seen)
    # and the keys spread over more than one backend
    assert sum(1 for c in count_by_origin(os_, "/k") if c > 0) >= 2


def test_least_conn_and_p2c_serve(origins, start_edgecache):
    for algo in ("least_conn", "p2c"):
        a, b = origins(2)
        cfg = backends_config([a.base_url, b.base_url], "algorithm: %s" % algo)
        ec = start_edgecache(config_text=cfg, origin_url=False)
        assert get_many(ec, "/lc?cc=no-store", 20) == [200] * 20
        ca, cb = count_by_origin([a, b], "/lc")
        assert ca + cb == 20 and ca > 0 and cb > 0, (algo, ca, cb)


def test_routing_by_host_and_path(origins, start_edgecache):
    d, api, st = origins(3)
    cfg = (
        "groups:\n"
        "  - name: api\n"
        "    hosts: [api.example.com]\n"
        "    host: api.internal\n"
        "    backends: [%s]\n"
        "  - name: static\n"
        "    paths: [/static/]\n"
        "    backends: [%s]\n" % (api.addr, st.addr)
    )
    ec = start_edgecache(config_text=cfg, origin_url=d.base_url)
    assert ec.get("/x?cc=no-store", headers={"Host": "api.example.com"}).status == 200
    assert ec.get("/static/a.css?cc=no-store", headers={"Host": "www.example.com"}).status == 200
    assert ec.get("/other?cc=no-store", headers={"Host": "www.example.com"}).status == 200
    assert api.stats()["paths"] == {"/x": 1}
    assert st.stats()["paths"] == {"/static/a.css": 1}
    assert d.stats()["paths"] == {"/other": 1}
    # the api group sends its own Host; the others pass the client's through
    assert req_header(api.log()[0], "host") == ["api.internal"]
    assert req_header(st.log()[0], "host") == ["www.example.com"]
