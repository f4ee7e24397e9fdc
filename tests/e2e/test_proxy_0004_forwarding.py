# test_proxy_0004_forwarding — what the daemon changes on the way through: hop-by-hop
# fields are stripped in both directions, Via / X-Forwarded-For /
# X-Forwarded-Proto are added (appended to existing ones), Host passes through
# unless origin_host is set.

from e2elib import req_header, target

def names(headers):
    return [n.lower() for n, _ in headers]


def only_own_connection_tokens(values):
    """The daemon may send its own Connection field for its hop, naming nothing else."""
    tokens = [t.strip().lower() for v in values for t in v.split(",") if t.strip()]
    return all(t in ("keep-alive", "close") for t in tokens)


def test_hop_by_hop_stripped_toward_origin(origin, edgecache):
    with edgecache.client() as c:
        c.request(
            "GET",
            "/f?echo=1",
            headers=[
                ("Connection", "keep-alive, X-Drop-Me, x-drop-too"),
                ("X-Drop-Me", "1"),
                ("X-Drop-Too", "2"),
                ("Keep-Alive", "timeout=5"),
                ("TE", "trailers"),
                ("Trailer", "X-Whatever"),
                ("Upgrade", "example/1"),
                ("Proxy-Connection", "keep-alive"),
                ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
                ("X-Keep", "yes"),
                ("Authorization", "Bearer end-to-end"),
            ],
        )
        r = c.read_final()
        assert r.status == 200, r
        j = r.json()
    got = names(j["headers"])
    for h in ("x-drop-me", "x-drop-too", "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
              "proxy-authorization"):
        assert h not in got, "%s reached the origin: %r" % (h, j["headers"])
    assert only_own_connection_tokens(req_header(j, "connection")), j["headers"]
    assert req_header(j, "x-keep") == ["yes"]
    assert req_header(j, "authorization") == ["Bearer end-to-end"], "end-to-end fields pass"


def test_hop_by_hop_stripped_toward_client(origin, edgecache):
    r = edgecache.get(
        target(
            "/f",
            size=10,
            hdr=[
                "Connection:keep-alive, X-Secret",
                "X-Secret:1",
                "Keep-Alive:timeout=5, max=100",
                "Proxy-Connection:keep-alive",
                "Upgrade:example/1",
                "Trailer:X-Nothing",
                "X-Public:1",
            ],
        )
    )
    assert r.status == 200 and len(r.body) == 10
    got = names(r.headers)
    for h in ("x-secret", "keep-alive", "proxy-connection", "upgrade", "trailer"):
        assert h not in got, "%s reached the client: %r" % (h, r.headers)
    assert only_own_connection_tokens(r.header_all("connection")), r.headers
    assert r.header("x-public") == "1"


def test_via_xff_xfp_added(origin, edgecache):
    j = edgecache.get("/f?echo=1").json()
    assert [v.strip() for v in ",".join(req_header(j, "via")).split(",")] == ["1.1 edgecache"]
    assert req_header(j, "x-forwarded-for") == ["127.0.0.1"]
    assert req_header(j, "x-forwarded-proto") == ["http"]


def test_via_and_xff_appended(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", "/f?echo=1", headers=[("Via", "1.0 client-proxy"), ("X-Forwarded-For", "10.1.2.3")])
        j = c.read_final().json()
    via = [v.strip() for v in ",".join(req_header(j, "via")).split(",")]
    assert via == ["1.0 client-proxy", "1.1 edgecache"], j["headers"]
    assert req_header(j, "x-forwarded-for") == ["10.1.2.3, 127.0.0.1"], j["headers"]


def test_host_passes_through(origin, edgecache):
    with edgecache.client() as c:
        c.request("GET", "/f?echo=1", host="www.example.test:8080")
        j = c.read_final().json()
    assert req_header(j, "host") == ["www.example.test:8080"]


def test_origin_host_overrides_host(origin, start_edgecache):
    ec = start_edgecache("-p", "origin_host=backend.internal")
    with ec.client() as c:
        c.request("GET", "/f?echo=1", host="www.example.test")
        j = c.read_final().json()
    assert req_header(j, "host") == ["backend.internal"]


def test_via_name_configurable(origin, start_edgecache):
    ec = start_edgecache("-p", "forwarding.via=edge-test-7")
    r = ec.get("/f?echo=1")
    via_origin = ",".join(req_header(r.json(), "via"))
    assert "edge-test-7" in via_origin and "1.1 edgecache" not in via_origin, via_origin
    assert "edge-test-7" in ",".join(r.header_all("via")), r.headers
