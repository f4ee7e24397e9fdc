/*
 * check_origin.c — the origin connector's pure parts: the selection
 * algorithms (src/lb.c), the health state machine (src/health.c), the
 * `groups:` configuration (src/config_groups.c) and routing/picking with
 * backups (src/route.c over a site built from a config).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "src/config.h"
#include "src/health.h"
#include "src/lb.h"
#include "src/origin.h"
#include "src/origin_stats.h"
#include "src/retry.h"
#include "src/route.h"
#include "src/site.h"

/* ---- algorithms ---------------------------------------------------------- */

static uint64_t all(unsigned n)
{
	return n == 64 ? ~0ull : (1ull << n) - 1;
}

START_TEST(test_crc32)
{
	ck_assert_uint_eq(ec_lb_crc32("123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(ec_lb_crc32("", 0), 0);
}
END_TEST

START_TEST(test_wrr_weights)
{
	struct ec_lb_peer p[3] = {{"a:1", 1}, {"b:1", 3}, {"c:1", 6}};
	void *st = ec_lb_wrr.create(p, 3, 2);
	unsigned cnt[3] = {0}, load[3] = {0};
	const unsigned N = 100000;
	for (unsigned i = 0; i < N; i++)
		cnt[ec_lb_wrr.pick(st, 0, all(3), load, 0)]++;
	for (unsigned i = 0; i < 3; i++) {
		double want = N * p[i].weight / 10.0;
		ck_assert_msg(cnt[i] >= want * 0.99 && cnt[i] <= want * 1.01, "peer %u: %u of %u",
		              i, cnt[i], N);
	}
	/* smooth: weight 6 of 10 never gets more than 2 picks in a row in 1:3:6 */
	unsigned run = 0, maxrun = 0, prev = 99;
	for (unsigned i = 0; i < 1000; i++) {
		unsigned k = ec_lb_wrr.pick(st, 1, all(3), load, 0);
		run = k == prev ? run + 1 : 1;
		prev = k;
		maxrun = run > maxrun ? run : maxrun;
	}
	ck_assert_uint_le(maxrun, 2);
	/* a candidate mask: only peers 0 and 2, in 1:6 */
	unsigned c0 = 0, c2 = 0;
	for (unsigned i = 0; i < 7000; i++) {
		unsigned k = ec_lb_wrr.pick(st, 0, 5, load, 0);
		ck_assert(k == 0 || k == 2);
		c0 += k == 0;
		c2 += k == 2;
	}
	ck_assert_uint_eq(c0, 1000);
	ck_assert_uint_eq(c2, 6000);
	ec_lb_wrr.destroy(st);
}
END_TEST

START_TEST(test_least_conn)
{
	struct ec_lb_peer p[3] = {{"a:1", 1}, {"b:1", 1}, {"c:1", 2}};
	void *st = ec_lb_least_conn.create(p, 3, 1);
	unsigned load[3] = {5, 2, 6}; /* per weight: 5, 2, 3 */
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(ec_lb_least_conn.pick(st, 0, all(3), load, 0), 1);
	load[1] = 9;
	ck_assert_uint_eq(ec_lb_least_conn.pick(st, 0, all(3), load, 0), 2);
	ck_assert_uint_eq(ec_lb_least_conn.pick(st, 0, 1, load, 0), 0); /* mask */
	/* ties rotate */
	unsigned zero[3] = {0, 0, 0}, seen = 0;
	for (int i = 0; i < 6; i++)
		seen |= 1u << ec_lb_least_conn.pick(st, 0, all(3), zero, 0);
	ck_assert_uint_eq(seen, 7);
	ec_lb_least_conn.destroy(st);
}
END_TEST

START_TEST(test_p2c_prefers_less_loaded)
{
	struct ec_lb_peer p[4] = {{"a:1", 1}, {"b:1", 1}, {"c:1", 1}, {"d:1", 1}};
	void *st = ec_lb_p2c.create(p, 4, 1);
	unsigned load[4] = {50, 0, 10, 20}, cnt[4] = {0};
	for (int i = 0; i < 12000; i++)
		cnt[ec_lb_p2c.pick(st, 0, all(4), load, 0)]++;
	/* the busiest is never chosen (it always loses its pair); the idle one
	 * wins every pair it is in: 3 of 6 pairs = 1/2 */
	ck_assert_uint_eq(cnt[0], 0);
	ck_assert_uint_gt(cnt[1], 5400);
	ck_assert_uint_lt(cnt[1], 6600);
	ck_assert_uint_gt(cnt[1], cnt[2]);
	ck_assert_uint_gt(cnt[2], cnt[3]);
	/* two peers: always the less loaded one */
	unsigned l2[4] = {3, 1, 0, 0};
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(ec_lb_p2c.pick(st, 0, 3, l2, 0), 1);
	ec_lb_p2c.destroy(st);
}
END_TEST

static unsigned ketama_key(void *st, unsigned n, unsigned k)
{
	char key[32];
	unsigned load[EC_LB_MAX] = {0};
	int len = snprintf(key, sizeof(key), "/object/%u", k);
	return ec_lb_ketama.pick(st, 0, all(n), load, ec_lb_crc32(key, (size_t)len));
}

START_TEST(test_ketama_moves_few_keys)
{
	static const char *names[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80",
	                              "10.0.0.5:80"};
	struct ec_lb_peer p[5];
	for (int i = 0; i < 5; i++)
		p[i] = (struct ec_lb_peer){names[i], 1};
	const unsigned K = 20000;
	unsigned *before = calloc(K, sizeof(unsigned));
	for (unsigned n = 2; n <= 4; n++) {
		void *a = ec_lb_ketama.create(p, n, 1), *b = ec_lb_ketama.create(p, n + 1, 1);
		unsigned moved = 0, cnt[5] = {0};
		for (unsigned k = 0; k < K; k++) {
			before[k] = ketama_key(a, n, k);
			unsigned after = ketama_key(b, n + 1, k);
			cnt[after]++;
			if (after != before[k]) {
				moved++;
				/* a key only ever moves to the new backend */
				ck_assert_uint_eq(after, n);
			}
		}
		double frac = (double)moved / K;
		ck_assert_msg(frac <= 1.0 / (n + 1) + 0.05, "%u -> %u backends: %.3f moved", n,
		              n + 1, frac);
		ck_assert_msg(frac >= 1.0 / (n + 1) - 0.08, "%u -> %u: %.3f moved (too few?)", n,
		              n + 1, frac);
		/* same key, same backend */
		for (unsigned k = 0; k < 100; k++)
			ck_assert_uint_eq(ketama_key(a, n, k), before[k]);
		ec_lb_ketama.destroy(a);
		ec_lb_ketama.destroy(b);
	}
	free(before);
}
END_TEST

START_TEST(test_ketama_skips_unusable)
{
	struct ec_lb_peer p[3] = {{"a:1", 1}, {"b:1", 1}, {"c:1", 1}};
	void *st = ec_lb_ketama.create(p, 3, 1);
	unsigned load[3] = {0};
	for (unsigned k = 0; k < 500; k++) {
		uint32_t h = k * 2654435761u;
		unsigned full = ec_lb_ketama.pick(st, 0, 7, load, h);
		unsigned without = ec_lb_ketama.pick(st, 0, 7 & ~(1u << full), load, h);
		ck_assert_uint_ne(without, full);
		/* keys of the other backends stay put */
		unsigned other = (full + 1) % 3;
		unsigned o2 = ec_lb_ketama.pick(st, 0, 7 & ~(1u << other), load, h);
		ck_assert_uint_eq(o2, full);
	}
	ec_lb_ketama.destroy(st);
	ck_assert_ptr_eq(ec_lb_find("p2c"), &ec_lb_p2c);
	ck_assert_ptr_null(ec_lb_find("random"));
}
END_TEST

/* The same ring computed independently (Python's zlib.crc32 over
 * HOST "\0" PORT prev-as-4-LE-bytes, 160 points per weight, sorted, first
 * point at or after crc32(key)): the picks must agree. */
START_TEST(test_ketama_point_layout)
{
	struct ec_lb_peer p[3] = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 2}, {"10.0.0.3:8080", 1}};
	static const struct {
		const char *key;
		uint32_t crc;
		unsigned peer;
	} want[] = {
	        {"/", 0x79d3d2d4u, 1},
	        {"/index.html", 0xea224b42u, 0},
	        {"/a/b/c?x=1", 0xcb4fab1fu, 0},
	        {"http://example.com/img.png", 0x0e01e9c4u, 1},
	        {"k42", 0xc83e5fa4u, 2},
	};
	void *st = ec_lb_ketama.create(p, 3, 1);
	unsigned load[3] = {0};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t h = ec_lb_crc32(want[i].key, strlen(want[i].key));
		ck_assert_uint_eq(h, want[i].crc);
		ck_assert_uint_eq(ec_lb_ketama.pick(st, 0, 7, load, h), want[i].peer);
	}
	ec_lb_ketama.destroy(st);
}
END_TEST

/* ---- health ---------------------------------------------------------------- */

static struct ec_conf_lb hconf(void)
{
	struct ec_conf_lb c;
	memset(&c, 0, sizeof(c));
	c.fail_max = 3;
	c.fail_window = 10;
	c.fail_timeout = 5;
	c.health_rise = 2;
	c.health_fall = 3;
	return c;
}

START_TEST(test_health_passive)
{
	struct ec_conf_lb c = hconf();
	struct ec_health h;
	bool probe;
	ec_health_init(&h, false);
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 100));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 101));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_OK, 102)); /* streak reset */
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 103));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 104));
	ck_assert(!ec_health_is_down(&h));
	ck_assert(ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 105)); /* third in a row */
	ck_assert(ec_health_is_down(&h));
	ck_assert_uint_eq(h.downs, 1);
	ck_assert(!ec_health_usable(&h, &c, 106, true, &probe));
	ck_assert(!probe);
	/* after fail_timeout: one probe; looking does not take it */
	ck_assert(ec_health_usable(&h, &c, 110.5, false, &probe));
	ck_assert(!probe);
	ck_assert(ec_health_usable(&h, &c, 110.5, true, &probe));
	ck_assert(probe);
	ck_assert(!ec_health_usable(&h, &c, 110.6, false, &probe));
	ck_assert(!ec_health_usable(&h, &c, 110.6, true, &probe));
	/* the probe fails: another fail_timeout */
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 111));
	ck_assert(!ec_health_usable(&h, &c, 115, true, &probe));
	ck_assert(ec_health_usable(&h, &c, 116.1, true, &probe));
	ck_assert(probe);
	/* the probe succeeds: up */
	ck_assert(ec_health_event(&h, &c, EC_HEALTH_EV_OK, 116.2));
	ck_assert(!ec_health_is_down(&h));
	ck_assert_uint_eq(h.ups, 1);
	ck_assert(ec_health_usable(&h, &c, 116.3, true, &probe));
	ck_assert(!probe);
}
END_TEST

START_TEST(test_health_window)
{
	struct ec_conf_lb c = hconf();
	struct ec_health h;
	ec_health_init(&h, false);
	/* failures spread wider than the window never add up */
	for (int i = 0; i < 10; i++)
		ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 100 + i * 6.0));
	ck_assert(!ec_health_is_down(&h));
	/* fail_max 0: passive detection off */
	c.fail_max = 0;
	for (int i = 0; i < 10; i++)
		ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 200 + i * 0.1));
	ck_assert(!ec_health_is_down(&h));
}
END_TEST

START_TEST(test_health_active)
{
	struct ec_conf_lb c = hconf();
	struct ec_health h;
	bool probe;
	ec_health_init(&h, true);
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_FAIL, 1));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_FAIL, 2));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_OK, 3)); /* streak reset */
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_FAIL, 4));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_FAIL, 5));
	ck_assert(ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_FAIL, 6)); /* fall = 3 */
	ck_assert(ec_health_is_down(&h));
	/* with active checks, no passive probes, and request successes do not count */
	ck_assert(!ec_health_usable(&h, &c, 100, true, &probe));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_OK, 100));
	ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_OK, 101));
	ck_assert(ec_health_is_down(&h));
	ck_assert(ec_health_event(&h, &c, EC_HEALTH_EV_CHECK_OK, 102)); /* rise = 2 */
	ck_assert(!ec_health_is_down(&h));
	/* passive failures also take an actively checked backend down */
	for (int i = 0; i < 2; i++)
		ck_assert(!ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 200));
	ck_assert(ec_health_event(&h, &c, EC_HEALTH_EV_FAIL, 200));
	ck_assert_uint_eq(h.downs, 2);
}
END_TEST

/* ---- groups config and routing ----------------------------------------------- */

static const char GROUPS_YAML[] =
        "origins: [\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]\n"
        "origin:\n"
        "  algorithm: least_conn\n"
        "groups:\n"
        "  - name: api\n"
        "    hosts: [api.example.com, \"*.api.example.com\"]\n"
        "    host: api.internal\n"
        "    algorithm: ketama\n"
        "    retries: 1\n"
        "    fail_max: 2\n"
        "    backends:\n"
        "      - 127.0.0.1:9101\n"
        "      - {url: http://127.0.0.1:9102, weight: 3}\n"
        "      - {url: 127.0.0.1:9103, backup: true}\n"
        "  - name: static\n"
        "    paths: /static/\n"
        "    backends: 127.0.0.1:9201\n";

static struct ec_config *load(const char *yaml, char *err, size_t errlen)
{
	struct ec_config *c = ec_config_new();
	ck_assert_ptr_nonnull(c);
	if (ec_config_load_buffer(c, "g.yaml", yaml, strlen(yaml), err, errlen) != 0) {
		ec_config_unref(&c);
		return NULL;
	}
	return c;
}

START_TEST(test_groups_config)
{
	char err[512] = "";
	struct ec_config *c = load(GROUPS_YAML, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->lb.algorithm, "least_conn");
	ck_assert_uint_eq(c->ngroups, 2);
	ck_assert_uint_eq(c->ngbackends, 4);
	const struct ec_conf_group *g = &c->groups[0];
	ck_assert_str_eq(g->name, "api");
	ck_assert_str_eq(g->lb.algorithm, "ketama");
	ck_assert_uint_eq(g->lb.retries, 1);
	ck_assert_uint_eq(g->lb.fail_max, 2);
	ck_assert_uint_eq(g->lb.health_fall, 3); /* default */
	ck_assert_str_eq(g->host, "api.internal");
	ck_assert_uint_eq(g->nhosts, 2);
	ck_assert_uint_eq(g->n, 3);
	ck_assert_uint_eq(c->gbackends[1].weight, 3);
	ck_assert(c->gbackends[2].backup);
	ck_assert(!c->gbackends[1].backup);
	ck_assert_uint_eq(c->gbackends[2].port, 9103);
	ck_assert_str_eq(c->groups[1].paths[0], "/static/");
	ck_assert_str_eq(c->groups[1].lb.algorithm, "wrr");
	ck_assert_int_eq(ec_config_finish(c, err, sizeof(err)), 0);
	ec_config_unref(&c);
}
END_TEST

START_TEST(test_groups_config_errors)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
	        {"groups:\n  - name: a\n    backends: [127.0.0.1:1]\n    algorithm: random\n",
	         "g.yaml:4: groups[0].algorithm: 'random' is not one of wrr|least_conn|ketama|p2c"},
	        {"groups:\n  - name: a\n", "g.yaml:2: groups[0].backends: missing"},
	        {"groups:\n  - backends: [127.0.0.1:1]\n",
	         "g.yaml:2: groups[0]: missing key 'name'"},
	        {"groups:\n  - name: a\n    backends:\n      - {url: 127.0.0.1:1, wieght: 2}\n",
	         "g.yaml:4: groups[0].backends[0].wieght: unknown key (did you mean 'weight'?)"},
	        {"groups:\n  - name: a\n    backends: [127.0.0.1:1]\n  - name: a\n    backends: "
	         "[127.0.0.1:2]\n",
	         "g.yaml:4: groups[1]: group name 'a' used twice (first at line 2)"},
	        {"groups:\n  - name: a\n    backends:\n      - {url: 127.0.0.1:1, backup: true}\n",
	         "groups[0].backends: every backend is a backup"},
	        {"groups:\n  - name: a\n    paths: static\n    backends: [127.0.0.1:1]\n",
	         "g.yaml:3: groups[0].paths[0]: a path prefix starts with '/'"},
	        {"groups:\n  - name: a\n    backends: [127.0.0.1:1]\n    health_rise: 0\n",
	         "g.yaml:4: groups[0].health_rise: must be between 1 and 100"},
	        {"groups:\n  - name: a\n    backends: [127.0.0.1:1]\n    fail_windw: 1s\n",
	         "g.yaml:4: groups[0].fail_windw: unknown key (did you mean 'fail_window'?)"},
	        {"groups:\n  - name: a\n    backends: [\"http://h:1/path\"]\n",
	         "g.yaml:3: groups[0].backends[0]: a path is not allowed"},
	        {"origin:\n  health_check: ping\n",
	         "g.yaml:2: origin.health_check: 'ping' is not one"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct ec_config *c = load(cases[i].yaml, err, sizeof(err));
		ck_assert_msg(c == NULL, "case %zu accepted", i);
		ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: got '%s', want '%s'",
		              i, err, cases[i].want);
	}
}
END_TEST

static struct ec_str S(const char *s) {
	return (struct ec_str){s, strlen(s)};
}

START_TEST(test_route_and_backup)
{
	char err[512] = "";
	struct ec_config *c = load(GROUPS_YAML, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(ec_config_finish(c, err, sizeof(err)), 0);
	struct ec_site *s = ec_site_build(c, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_uint_eq(s->ngroups, 3);
	ck_assert_str_eq(s->groups[0].name, "default");
	ck_assert_str_eq(s->groups[1].name, "api");
	ck_assert_uint_eq(ec_route_group(s, S("api.example.com:8080"), S("/x")), 1);
	ck_assert_uint_eq(ec_route_group(s, S("API.Example.com"), S("/x")), 1);
	ck_assert_uint_eq(ec_route_group(s, S("v2.api.example.com"), S("/x")), 1);
	ck_assert_uint_eq(ec_route_group(s, S("example.com"), S("/static/a.css")), 2);
	ck_assert_uint_eq(ec_route_group(s, S("example.com"), S("/stat")), 0);
	ck_assert_uint_eq(ec_route_group(s, S("xapi.example.com"), S("/")), 0);
	ck_assert_str_eq(s->backends[2].send_host, "api.internal");
	ck_assert_str_eq(s->backends[0].send_host, "");

	/* api: 9101 (w1), 9102 (w3), backup 9103 */
	unsigned first = s->groups[1].first;
	for (int i = 0; i < 50; i++) {
		int b = ec_route_pick(s, 1, 0, 0, (uint32_t)i * 7919u, 1000);
		ck_assert(b == (int)first || b == (int)first + 1);
	}
	/* tried 9101: 9102; both tried: the backup */
	ck_assert_int_eq(ec_route_pick(s, 1, 0, 1, 5, 1000), (int)first + 1);
	ck_assert_int_eq(ec_route_pick(s, 1, 0, 3, 5, 1000), (int)first + 2);
	ck_assert_int_eq(ec_route_pick(s, 1, 0, 7, 5, 1000), -1);
	/* both primaries down (fail_max 2): the backup */
	const struct ec_conf_lb *lbc = s->groups[1].lbc;
	for (int k = 0; k < 2; k++) {
		ec_backend_result(&s->backends[first], lbc, false, 1000);
		ec_backend_result(&s->backends[first + 1], lbc, false, 1000);
	}
	ck_assert_str_eq(ec_backend_health_name(&s->backends[first]), "down");
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(ec_route_pick(s, 1, 0, 0, (uint32_t)i, 1001), (int)first + 2);
	/* backup down too: try the primaries anyway */
	ec_backend_result(&s->backends[first + 2], lbc, false, 1000);
	ec_backend_result(&s->backends[first + 2], lbc, false, 1000);
	int b = ec_route_pick(s, 1, 0, 0, 3, 1001);
	ck_assert(b == (int)first || b == (int)first + 1);
	/* after fail_timeout (5 s) a primary gets a probe, and its success brings it up */
	b = ec_route_pick(s, 1, 0, 0, 3, 1006);
	ck_assert(b == (int)first || b == (int)first + 1);
	ec_backend_result(&s->backends[b], lbc, true, 1006);
	ck_assert_str_eq(ec_backend_health_name(&s->backends[b]), "up");
	ck_assert_int_eq(ec_route_pick(s, 1, 0, 0, 3, 1006.1), b);
	ec_site_unref(&s);
	ec_config_unref(&c);
}
END_TEST

START_TEST(test_backends_json)
{
	char err[512] = "";
	struct ec_config *c = load(GROUPS_YAML, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(ec_config_finish(c, err, sizeof(err)), 0);
	struct ec_site *s = ec_site_build(c, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	struct evbuffer *out = evbuffer_new();
	ec_origin_backends_json(out); /* nothing published */
	evbuffer_add(out, "", 1);
	ck_assert_str_eq((const char *)evbuffer_pullup(out, -1), "{\"groups\":[]}");
	evbuffer_drain(out, evbuffer_get_length(out));

	struct ec_bstate *st = s->backends[0].st;
	EC_BSTAT_ADD(st, requests, 10);
	EC_BSTAT_ADD(st, errors, 1);
	EC_BSTAT_ADD(st, pool_new, 2);
	EC_BSTAT_ADD(st, pool_reused, 8);
	for (int i = 0; i < 90; i++)
		ec_bstate_latency(st, 0.001); /* 1 ms */
	for (int i = 0; i < 10; i++)
		ec_bstate_latency(st, 0.1); /* 100 ms */
	ec_origin_publish(s);
	ec_origin_backends_json(out);
	evbuffer_add(out, "", 1);
	const char *j = (const char *)evbuffer_pullup(out, -1);
	static const char want[] =
	        "{\"groups\":[{\"name\":\"default\",\"algorithm\":\"least_conn\","
	        "\"backends\":[{\"name\":\"127.0.0.1:9001\",\"weight\":1,"
	        "\"backup\":false,\"health\":\"up\",\"requests\":10,\"errors\":1,"
	        "\"inflight\":0,\"pool_idle\":0,\"pool_new\":2,\"pool_reused\":8,"
	        "\"latency_ms\":{\"p50\":";
	ck_assert_msg(strncmp(j, want, strlen(want)) == 0, "%s", j);
	ck_assert_ptr_nonnull(
	        strstr(j, "{\"name\":\"api\",\"algorithm\":\"ketama\",\"backends\":["));
	ck_assert_ptr_nonnull(
	        strstr(j, "\"name\":\"127.0.0.1:9103\",\"weight\":1,\"backup\":true"));
	ck_assert_ptr_nonnull(strstr(j, "\"name\":\"127.0.0.1:9102\",\"weight\":3,"));
	ck_assert(j[strlen(j) - 1] == '}');
	/* quantiles are bucket bounds within 19 % above the true value */
	double p50 = ec_bstate_quantile(st, 0.5), p99 = ec_bstate_quantile(st, 0.99);
	ck_assert(p50 >= 1.0 && p50 < 1.19);
	ck_assert(p99 >= 100.0 && p99 < 119.0);
	ck_assert_double_eq(ec_bstate_quantile(s->backends[1].st, 0.5), 0.0);
	ec_origin_publish(NULL);
	evbuffer_free(out);
	ec_site_unref(&s);
	ec_config_unref(&c);
}
END_TEST

/* ---- retry rules ------------------------------------------------------------ */

START_TEST(test_retry_rules)
{
	struct ec_retry_in base = {.idempotent = true, .retries_left = 2};
	struct ec_retry_in in;
#define DECIDE(...) (in = base, (void)(__VA_ARGS__), ec_retry_decide(&in))
	/* connect failures: another backend, any method, while retries last */
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CONNECT), EC_RETRY_OTHER);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CONNECT_TIMEOUT, in.idempotent = false,
	                        in.body_pulled = true),
	                 EC_RETRY_OTHER);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CONNECT, in.retries_left = 0), EC_RETRY_NONE);
	/* connection lost before the response */
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLOSED, in.reused = true), EC_RETRY_SAME_FRESH);
	ck_assert_int_eq(
	        DECIDE(in.err = EC_FETCH_E_CLOSED, in.reused = true, in.retried_reuse = true),
	        EC_RETRY_OTHER);
	ck_assert_int_eq(
	        DECIDE(in.err = EC_FETCH_E_CLOSED, in.reused = true, in.backend_down = true),
	        EC_RETRY_OTHER);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLOSED), EC_RETRY_OTHER);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLOSED, in.retries_left = 0), EC_RETRY_NONE);
	/* never a non-idempotent request whose bytes may have reached the origin */
	ck_assert_int_eq(
	        DECIDE(in.err = EC_FETCH_E_CLOSED, in.idempotent = false, in.reused = true),
	        EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLOSED, in.body_pulled = true), EC_RETRY_NONE);
	/* never after a response byte, nor for other failures */
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CONNECT, in.resp_byte = true), EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLOSED, in.resp_byte = true), EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_TIMEOUT), EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_BAD_RESPONSE), EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_TLS), EC_RETRY_NONE);
	ck_assert_int_eq(DECIDE(in.err = EC_FETCH_E_CLIENT_BODY), EC_RETRY_NONE);
#undef DECIDE
}
END_TEST

static Suite *origin_suite(void)
{
	Suite *s = suite_create("origin");
	TCase *tc = tcase_create("origin");
	tcase_add_test(tc, test_crc32);
	tcase_add_test(tc, test_wrr_weights);
	tcase_add_test(tc, test_least_conn);
	tcase_add_test(tc, test_p2c_prefers_less_loaded);
	tcase_add_test(tc, test_ketama_moves_few_keys);
	tcase_add_test(tc, test_ketama_skips_unusable);
	tcase_add_test(tc, test_ketama_point_layout);
	tcase_add_test(tc, test_health_passive);
	tcase_add_test(tc, test_health_window);
	tcase_add_test(tc, test_health_active);
	tcase_add_test(tc, test_groups_config);
	tcase_add_test(tc, test_groups_config_errors);
	tcase_add_test(tc, test_route_and_backup);
	tcase_add_test(tc, test_backends_json);
	tcase_add_test(tc, test_retry_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(origin_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
