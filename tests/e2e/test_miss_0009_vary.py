# test_miss_0009_vary — coalescing on a key whose response varies (RFC 9111 §4.1,
# issue 5: "the first miss for a key (primary key + variant) becomes the writer"): a
# cold burst for one URL with three different Accept-Language values, answered with
# `Vary: Accept-Language`, must give every client the variant for its own request
# (the origin echoes what it received), never another request's; requests of the
# same variant share one origin request, so the origin sees one per variant; and
# afterwards each variant is a hit.

from e2elib import target
from test_cache_0000_support import assert_hit, origin_count
from test_miss_0000_support import burst, shot

LANGS = ("en", "fr", "de")


def seen_by_origin(resp):
    return [v for n, v in resp.json()["headers"] if n.lower() == "accept-language"]


def test_cold_burst_with_vary_serves_each_request_its_variant(origin, start_edgecache):
    ec = start_edgecache(workers=2)
    tgt = target("/vary", echo=1, cc="max-age=60", hdr="Vary:Accept-Language", delay=0.5)
    shots = [shot(tgt, headers=[("Accept-Language", LANGS[i % 3])]) for i in range(30)]
    burst(ec.port, shots, timeout=10)
    wrong = []
    for i, s in enumerate(shots):
        assert s.response is not None and s.response.status == 200, s
        if seen_by_origin(s.response) != [LANGS[i % 3]]:
            wrong.append((LANGS[i % 3], seen_by_origin(s.response),
                          s.response.header("cache-status")))
    assert not wrong, "%d of 30 requests got another request's variant (sent, origin saw, " \
        "Cache-Status): %r" % (len(wrong), wrong[:6])
    assert origin_count(origin, "/vary") == 3, "one origin request per variant"
    for lang in LANGS:
        r = ec.get(tgt, headers=[("Accept-Language", lang)])
        assert_hit(r)
        assert seen_by_origin(r) == [lang]
    assert origin_count(origin, "/vary") == 3


def test_other_variants_do_not_join_a_revalidation(origin, start_edgecache):
    # "en" is stored, stale on arrival; its revalidation (a 304 after 0.5 s) is running
    # when "fr" requests arrive: they must not be answered with the freshened "en"
    ec = start_edgecache(workers=2)
    tgt = target("/vary-reval", echo=1, cc="max-age=1", etag='"v"', hdr=["Vary:Accept-Language",
                 "Age:3"], **{"delay@2": 0.5})
    r = ec.get(tgt, headers=[("Accept-Language", "en")])
    assert r.status == 200 and seen_by_origin(r) == ["en"]
    shots = [shot(tgt, headers=[("Accept-Language", "en")])] + \
        [shot(tgt, headers=[("Accept-Language", "fr")]) for _ in range(10)]
    burst(ec.port, shots, timeout=10, stagger=0.01)
    assert shots[0].response.status == 200 and seen_by_origin(shots[0].response) == ["en"]
    wrong = [(seen_by_origin(s.response), s.response.header("cache-status")) for s in shots[1:]
             if s.response is None or s.response.status != 200 or
             seen_by_origin(s.response) != ["fr"]]
    assert not wrong, "%d of 10 'fr' requests got another variant: %r" % (len(wrong), wrong[:3])
