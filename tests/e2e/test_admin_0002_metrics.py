# test_admin_0002_metrics — GET /metrics parses as Prometheus text format 0.0.4
# (checked line by line by the format's rules, test_admin_0000_support) and its
# figures follow the traffic: a miss, a hit, a disk tier; GET /stats agrees.

import http.client

from e2elib import wait_for
from test_admin_0000_support import TOKEN, cachectl_json, parse_prometheus, sample, start_admin
from test_cache_0000_support import cache_status


def metrics(admin):
    host, port = admin[len("http://"):].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    return parse_prometheus(body)


def test_metrics_parse_and_follow_traffic(start_edgecache, origin, tmp_path):
    ec, admin, tok = start_admin(start_edgecache, tmp_path, disk=tmp_path / "disk")
    fams = metrics(admin)
    for fam in ("edgecache_requests_total", "edgecache_hit_ratio", "edgecache_served_bytes_total",
                "edgecache_tier_objects", "edgecache_tier_bytes", "edgecache_evictions_total",
                "edgecache_admissions_rejected_total", "edgecache_cache_coalesced_total",
                "edgecache_origin_requests_total", "edgecache_origin_errors_total",
                "edgecache_client_conns_open", "edgecache_worker_loop_lag_seconds",
                "edgecache_stale_error_served_total", "edgecache_cache_swr_served_total"):
        assert fam in fams and fams[fam]["type"] and fams[fam]["help"], fam
    assert all(name.startswith("edgecache_") for name in fams)
    assert sample(fams, "edgecache_requests_total", cache="hit") == 0

    r1 = ec.get("/m?cc=max-age=600&size=1000")
    r2 = ec.get("/m?cc=max-age=600&size=1000")
    assert cache_status(r1).get("stored") and cache_status(r2).get("hit")
    # a request is counted when its exchange ends, an instant after its last bytes left
    def hit_counted():
        f = metrics(admin)
        return f if sample(f, "edgecache_requests_total", cache="hit") == 1 else None
    fams = wait_for(hit_counted, 10, "the hit to be counted")
    assert sample(fams, "edgecache_requests_total", cache="miss") == 1
    assert sample(fams, "edgecache_requests_total", cache="hit") == 1
    assert sample(fams, "edgecache_hit_ratio") == 0.5
    assert sample(fams, "edgecache_served_bytes_total", source="memory") == 1000
    assert sample(fams, "edgecache_served_bytes_total", source="origin") == 1000
    assert sample(fams, "edgecache_tier_objects", tier="memory") == 1
    assert sample(fams, "edgecache_origin_requests_total") == 1
    assert len(fams["edgecache_worker_loop_lag_seconds"]["samples"]) == 2
    # the disk writer commits within milliseconds
    import time
    deadline = time.time() + 5
    while sample(metrics(admin), "edgecache_tier_objects", tier="disk") != 1:
        assert time.time() < deadline, "the object never reached the disk tier"
        time.sleep(0.05)

    st = cachectl_json(admin, tok, "stats")
    assert st["requests"]["hit"] == 1 and st["requests"]["miss"] == 1
    assert st["hit_ratio"] == 0.5
    assert st["memory"]["objects"] == 1 and st["disk"]["objects"] == 1
    assert st["counters"]["origin_requests"] == 1


def backend_samples(fams, family):
    return [(n, l, v) for n, l, v in fams[family]["samples"]]


def test_metrics_per_backend(start_edgecache, origin, tmp_path):
    """One series per backend of the default group: health, counters that follow
    the origin's own count, and a response-time histogram whose buckets are
    cumulative and end in +Inf == _count."""
    ec, admin, tok = start_admin(start_edgecache, tmp_path)
    for i in range(5):
        assert ec.get("/b%d?size=10" % i).status == 200
    fams = metrics(admin)
    backend = "127.0.0.1:%d" % origin.port
    lab = {"group": "default", "backend": backend}
    assert fams["edgecache_backend_up"]["type"] == "gauge"
    assert sample(fams, "edgecache_backend_up", **lab) == 1
    assert fams["edgecache_backend_requests_total"]["type"] == "counter"
    assert sample(fams, "edgecache_backend_requests_total", **lab) == 5
    assert origin.stats()["requests"] == 5
    assert sample(fams, "edgecache_backend_errors_total", **lab) == 0
    # The worker ends its try after the last body bytes went to the client, so the
    # gauge may still read 1 for an instant after the response arrived here.
    wait_for(lambda: sample(metrics(admin), "edgecache_backend_inflight", **lab) == 0, 10,
             "no exchange in flight once the responses are in")
    opened = sample(fams, "edgecache_backend_connections_opened_total", **lab)
    reused = sample(fams, "edgecache_backend_pool_reused_total", **lab)
    assert opened >= 1 and opened + reused == 5
    h = fams["edgecache_backend_response_seconds"]
    assert h["type"] == "histogram"
    buckets = [(l["le"], v) for n, l, v in h["samples"] if n.endswith("_bucket")]
    assert buckets[-1] == ("+Inf", 5)
    bounds = [float(le) for le, _ in buckets[:-1]]
    assert bounds == sorted(bounds) and bounds[0] == 0.0001
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets must be cumulative"
    count = [v for n, l, v in h["samples"] if n.endswith("_count")]
    total = [v for n, l, v in h["samples"] if n.endswith("_sum")]
    assert count == [5] and 0 < total[0] < 5

    # a 5xx counts as an error of that backend
    assert ec.get("/err?status=503").status == 503
    fams = metrics(admin)
    assert sample(fams, "edgecache_backend_errors_total", **lab) == 1
    assert sample(fams, "edgecache_backend_requests_total", **lab) == 6
